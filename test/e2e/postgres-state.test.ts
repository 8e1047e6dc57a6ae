import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import postgres from 'postgres'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { labGate } from '../helpers/lab-gate.js'

/**
 * GUTS_DATABASE_URL=postgres://…: the state lives in PostgreSQL, so a guts on another host (here:
 * another data directory) sees, shows and cancels the same migrations. No SQLite file appears.
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
  const schema = `e2e_${process.pid}_${Date.now().toString(36)}`
  const env = { GUTS_DATABASE_URL: `${url}?schema=${schema}` }
  afterAll(async () => {
    const sql = postgres(url!, { onnotice: () => undefined })
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await sql.end()
  })

  describe('state in PostgreSQL (GUTS_DATABASE_URL)', () => {
    it('a migration run on one host is listed and shown on another; neither writes SQLite', async () => {
      const dir = tempDir('guts-pg-e2e-')
      await makeSampleOva(dir, { name: 'web', disks: [{ sizeMiB: 2 }] })
      writeFileSync(
        join(dir, 'plan.yaml'),
        'version: 1\nname: pg-wave\nsource: { driver: files, path: web.ova }\ndestination: { driver: local, directory: out }\nvms: [{ name: web }]\n',
      )
      const hostA = join(dir, 'host-a')
      const hostB = join(dir, 'host-b')
      const run = await runCli(['migrate', 'plan.yaml', '--json'], { dataDir: hostA, cwd: dir, env })
      expect(run.code, run.stderr).toBe(0)
      const { report } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { report: { id: string; status: string } }
      expect(report.status).toBe('succeeded')

      const list = await runCli(['migration', 'list', '--json'], { dataDir: hostB, cwd: dir, env })
      expect(list.code, list.stderr).toBe(0)
      expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: report.id, name: 'pg-wave', status: 'succeeded' })])
      const show = await runCli(['migration', 'show', report.id.slice(0, 8)], { dataDir: hostB, cwd: dir, env })
      expect(show.stdout).toMatch(new RegExp(`^${report.id}  pg-wave  succeeded`))
      const doctor = await runCli(['doctor', '--json'], { dataDir: hostB, cwd: dir, env })
      expect(JSON.parse(doctor.stdout)).toContainEqual(
        expect.objectContaining({
          name: 'state store',
          ok: true,
          detail: expect.stringMatching(/^PostgreSQL postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/guts\?schema=e2e_.*: 1 migration\(s\)$/),
        }),
      )
      for (const host of [hostA, hostB]) expect(existsSync(join(host, 'guts.db'))).toBe(false)
    })

    it('an unreachable database is a clear error without the password', async () => {
      const dir = tempDir('guts-pg-e2e-')
      const r = await runCli(['migration', 'list'], {
        dataDir: dir,
        env: { GUTS_DATABASE_URL: 'postgres://guts:s3cret-pw@127.0.0.1:1/guts' },
      })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/Cannot use the PostgreSQL state store 127\.0\.0\.1:1\/guts/)
      expect(r.stderr + r.stdout).not.toContain('s3cret-pw')
      expect(r.stderr).not.toMatch(/^\s+at /m)
    })
  })
}
