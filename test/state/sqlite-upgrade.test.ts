import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStateStore } from '../../src/core/state/open-store.js'
import { openSqliteDatabase } from '../../src/core/state/sqlite-driver.js'
import { SCHEMA_STEPS, SCHEMA_VERSION } from '../../src/core/state/sqlite-schema.js'

const root = mkdtempSync(join(tmpdir(), 'guts-upgrade-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A database written by an earlier guts is brought up to date in place, keeping what it holds. */
describe('sqlite schema upgrade', () => {
  it('a version 1 database (before API tokens) gets the tokens table and keeps its migrations', async () => {
    const path = join(root, 'v1.db')
    const raw = await openSqliteDatabase(path)
    raw.exec(SCHEMA_STEPS[0]!)
    raw.exec('PRAGMA user_version = 1')
    raw
      .prepare(
        `INSERT INTO migrations (id, name, status, plan_text, options, created_at, updated_at) VALUES ('m1', 'old', 'succeeded', 'x: 1', '{}', ?, ?)`,
      )
      .run('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
    raw.close()

    const store = await openStateStore({ url: `sqlite:${path}` })
    try {
      expect(await store.getMigration('m1')).toMatchObject({ name: 'old', status: 'succeeded' })
      expect(await store.listTokens()).toEqual([])
      await store.createToken({ id: 't1', name: 'ci', role: 'viewer', secretHash: 'cd'.repeat(32), prefix: 'abcdefgh' })
      expect((await store.listTokens()).map((t) => t.id)).toEqual(['t1'])
    } finally {
      await store.close()
    }
    const after = await openSqliteDatabase(path)
    try {
      expect(after.prepare('PRAGMA user_version').get<{ user_version: number }>()?.user_version).toBe(SCHEMA_VERSION)
      expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2)
    } finally {
      after.close()
    }
  })
})
