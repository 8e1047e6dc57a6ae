import { afterAll, describe, expect, it } from 'vitest'
import postgres from 'postgres'
import { openStateStore } from '../../src/core/state/open-store.js'
import { PG_SCHEMA_VERSION } from '../../src/core/state/pg-schema.js'
import { labGate } from '../helpers/lab-gate.js'
import { stateStoreSuite } from './state-store-suite.js'

/**
 * The shared StateStore suite on PostgreSQL (the lab: test/lab/postgres-lab.sh). Every store gets
 * a PostgreSQL schema of its own (`?schema=`), dropped at the end, so runs never see each other.
 */
const url = process.env.GUTS_LAB_POSTGRES
if (
  labGate({
    lab: 'postgres lab',
    variable: 'GUTS_LAB_POSTGRES',
    value: url,
    start: 'start it (test/lab/postgres-lab.sh up) and eval "$(test/lab/postgres-lab.sh env)"',
  })
) {
  const prefix = `t${process.pid}_${Date.now().toString(36)}`
  const schemas: string[] = []
  let last = ''
  const at = (schema: string) => `${url}${url!.includes('?') ? '&' : '?'}schema=${schema}`
  afterAll(async () => {
    const sql = postgres(url!, { onnotice: () => undefined })
    for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await sql.end()
  })

  stateStoreSuite(
    'postgresql',
    async () => {
      last = `${prefix}_${schemas.length}`
      schemas.push(last)
      return openStateStore({ url: at(last) })
    },
    { reopen: () => openStateStore({ url: at(last) }) },
  )

  describe('postgresql state store', () => {
    it('keeps its tables in its own schema, at the current schema version', async () => {
      const schema = `${prefix}_v`
      schemas.push(schema)
      const store = await openStateStore({ url: at(schema) })
      await store.close()
      const sql = postgres(url!, { onnotice: () => undefined })
      try {
        const tables = await sql<
          { table_name: string }[]
        >`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`
        expect(tables.map((t) => t.table_name)).toEqual(['events', 'leases', 'migrations', 'schema_version', 'tokens', 'undo_log', 'vms'])
        const [v] = await sql.unsafe(`SELECT version FROM "${schema}".schema_version`)
        expect(v!.version).toBe(PG_SCHEMA_VERSION)
      } finally {
        await sql.end()
      }
    })

    it('a version 1 schema (before API tokens) is upgraded in place, keeping its migrations', async () => {
      const schema = `${prefix}_up`
      schemas.push(schema)
      const first = await openStateStore({ url: at(schema) })
      await first.createMigration({ id: 'm1', name: 'old', planText: 'x: 1\n' })
      await first.close()
      const sql = postgres(url!, { onnotice: () => undefined })
      try {
        await sql.unsafe(`DROP TABLE "${schema}".tokens; UPDATE "${schema}".schema_version SET version = 1`)
        const store = await openStateStore({ url: at(schema) })
        try {
          expect(await store.getMigration('m1')).toMatchObject({ name: 'old' })
          await store.createToken({ id: 't1', name: 'ci', role: 'viewer', secretHash: 'cd'.repeat(32), prefix: 'abcdefgh' })
          expect((await store.listTokens()).map((t) => t.id)).toEqual(['t1'])
        } finally {
          await store.close()
        }
        const [v] = await sql.unsafe(`SELECT version FROM "${schema}".schema_version`)
        expect(v!.version).toBe(PG_SCHEMA_VERSION)
      } finally {
        await sql.end()
      }
    })

    it('a wrong password is a GUTS_STATE_ERROR that does not show the password', async () => {
      const bad = url!.replace(/:\/\/([^:]+):[^@]*@/, '://$1:wrong-secret-pw@')
      const error = await openStateStore({ url: at(`${prefix}_x`) && bad }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      )
      expect(error?.code).toBe('GUTS_STATE_ERROR')
      expect(error?.message).toMatch(/PostgreSQL state store 127\.0\.0\.1:\d+\/guts/)
      expect(error?.message).not.toContain('wrong-secret-pw')
    })
  })
}
