import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import type { ChildProcess } from 'node:child_process'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'

const PLAN = `version: 1
name: served
source: { driver: files, path: sample.ova }
destination: { driver: local, directory: out }
vms:
  - name: sample
`

/** Reads an SSE response to its `end` event; returns the events' ids and types in order. */
async function followEvents(url: string, headers: Record<string, string> = {}): Promise<{ id: number; type: string }[]> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } })
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const out: { id: number; type: string }[] = []
  let text = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += Buffer.from(chunk).toString('utf8')
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end)
      text = text.slice(end + 2)
      const type = /^event: (.+)$/m.exec(block)?.[1]
      if (type === 'end') return out
      const id = /^id: (\d+)$/m.exec(block)?.[1]
      if (type && id) out.push({ id: Number(id), type })
    }
  }
  return out
}

/**
 * Runs `guts serve ARGS` until `fn(url, child)` is done with it: `fn` runs once the server says
 * where it listens; then the server gets SIGTERM (unless `fn` killed it). Returns the CLI result
 * and what `fn` returned.
 */
async function withServer<T>(
  args: string[],
  o: { dataDir: string; cwd: string },
  fn: (url: string, child: ChildProcess) => Promise<T>,
): Promise<{ run: CliResult; value: T }> {
  let work: Promise<T> | undefined
  const run = await runCli(['serve', ...args, '--port', '0'], {
    ...o,
    onStdout: (chunk, child) => {
      const m = /listening on (http:\/\/\S+) |"type":"listening","url":"(http[^"]+)"/.exec(chunk)
      const url = m?.[1] ?? m?.[2]
      if (!url || work) return
      work = fn(url, child).finally(() => {
        if (!child.killed) child.kill('SIGTERM')
      })
    },
  })
  return { run, value: await work! }
}

/**
 * `guts serve` as a real process (files → local, the offline drivers): a plan POSTed over HTTP runs
 * in the server, its events stream over SSE to the end, the report says succeeded, and SIGTERM
 * stops the server cleanly. `--no-auth` off loopback is refused before anything listens.
 */
describe('guts serve', () => {
  let dir: string
  beforeAll(async () => {
    dir = tempDir('guts-serve-')
    await makeSampleOva(dir, { name: 'sample', disks: [{ sizeMiB: 8 }] })
  })

  it('runs a migration posted over HTTP, streams its events, and stops on SIGTERM', async () => {
    const { run } = await withServer(['--no-auth'], { dataDir: join(dir, 'data'), cwd: dir }, async (url) => {
      const created = await fetch(`${url}/v1/migrations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ plan: PLAN }),
      })
      expect(created.status).toBe(201)
      const { id } = (await created.json()) as { id: string }
      const events = await followEvents(`${url}/v1/migrations/${id}/events`)
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['migration.started', 'vm.succeeded', 'migration.finished']))
      expect(((await (await fetch(`${url}/v1/migrations/${id}`)).json()) as { status: string }).status).toBe('succeeded')
    })
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('SIGTERM: stopping') })
  })

  it('with tokens: none is 401, a viewer may read but not create (403), an operator creates', async () => {
    const dataDir = join(dir, 'data-auth')
    const token = async (role: string) =>
      (
        JSON.parse(
          (await runCli(['token', 'create', '--name', `e2e-${role}`, '--role', role, '--json'], { dataDir, cwd: dir })).stdout,
        ) as { secret: string }
      ).secret
    const viewer = await token('viewer')
    const operator = await token('operator')
    const { run } = await withServer([], { dataDir, cwd: dir }, async (url) => {
      const post = (secret?: string) =>
        fetch(`${url}/v1/migrations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
          body: JSON.stringify({ plan: PLAN.replace('directory: out', 'directory: out-auth'), start: false }),
        })
      expect((await post()).status).toBe(401)
      expect((await post(viewer)).status).toBe(403)
      expect((await fetch(`${url}/v1/migrations`, { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200)
      expect((await post(operator)).status).toBe(201)
    })
    expect(run.code).toBe(0)
    // The secret is nowhere in what the server printed.
    expect(run.stdout + run.stderr).not.toContain(operator)
  })

  it('kill -9 mid-run, then a new guts serve resumes the migration to the end: every VM once at the destination', async () => {
    const o = { dataDir: join(dir, 'data-kill'), cwd: dir }
    const names = Array.from({ length: 8 }, (_, i) => `vm${i + 1}`)
    for (const name of names) await makeSampleOva(join(dir, 'fleet'), { name, disks: [{ sizeMiB: 4 }] })
    const plan = [
      'version: 1',
      'name: fleet',
      'source: { driver: files, path: fleet }',
      'destination: { driver: local, directory: out-kill }',
      'policy: { concurrency: 1 }',
      'vms:',
      ...names.map((n) => `  - name: ${n}`),
      '',
    ].join('\n')
    const first = await withServer(['--no-auth'], o, async (url, child) => {
      const created = await fetch(`${url}/v1/migrations`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: plan })
      const { id } = (await created.json()) as { id: string }
      // Kill the server once the first VM is through, with the others still to go.
      const res = await fetch(`${url}/v1/migrations/${id}/events`, { headers: { accept: 'text/event-stream' } })
      let text = ''
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += Buffer.from(c).toString('utf8')
        if (/event: vm\.succeeded/.test(text)) break
      }
      child.kill('SIGKILL')
      return id
    })
    expect(first.run.signal).toBe('SIGKILL')
    const id = first.value
    const second = await withServer(['--no-auth'], o, async (url) => {
      const events = await followEvents(`${url}/v1/migrations/${id}/events`)
      expect(((await (await fetch(`${url}/v1/migrations/${id}`)).json()) as { status: string }).status).toBe('succeeded')
      return events.map((e) => e.type)
    })
    expect(second.run.code).toBe(0)
    expect(second.run.stderr).toMatch(/resuming 1 interrupted migration/)
    // The log holds both runs: two starts, and every VM succeeded exactly once.
    expect(second.value.filter((t) => t === 'migration.started').length).toBe(2)
    expect(second.value.filter((t) => t === 'vm.succeeded').length).toBe(names.length)
    expect(readdirSync(join(dir, 'out-kill')).sort()).toEqual(names)
  })

  it('--json: a listening line first, where it listened and what stopped it last', async () => {
    const { run } = await withServer(['--no-auth', '--json'], { dataDir: join(dir, 'data-json'), cwd: dir }, async (url) => {
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
    })
    expect(run.code).toBe(0)
    // Fastify's own log lines are JSON too; the first guts line is the listening one.
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{"type"'))
    expect(lines[0]).toMatch(/^\{"type":"listening","url":"http:\/\/127\.0\.0\.1:\d+"\}$/)
    expect(JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n{')))).toMatchObject({ stoppedBy: 'SIGTERM' })
  })

  it('refuses --no-auth on an address other than loopback, with exit code 2', async () => {
    const r = await runCli(['serve', '--no-auth', '--host', '0.0.0.0', '--port', '0'], { dataDir: join(dir, 'data2'), cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--no-auth is allowed on a loopback address only/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
