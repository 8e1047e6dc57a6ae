import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createMigrationService } from '../../src/core/service.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { buildApi } from '../../src/server/app.js'
import type { Caller } from '../../src/server/auth.js'
import { MigrationRunner } from '../../src/server/runner.js'
import { tempDir } from '../helpers/cli.js'
import { fakeRegistry, type FakeHooks } from '../helpers/fake-registry.js'

const KiB = 1024
const PLAN = `version: 1
name: api-test
source: { driver: fake-src }
destination: { driver: fake-dst }
vms:
  - name: vm-a
`
const TOKENS: Record<string, Caller> = {
  guts_viewer: { id: 't1', name: 'ci-viewer', role: 'viewer' },
  guts_operator: { id: 't2', name: 'ci-operator', role: 'operator' },
}

/**
 * The REST API's contract through Fastify's inject (no socket): every route's success, 400 with
 * locations, 401, 403, 404 and 409 where they apply, over the real service with the fake drivers.
 */
describe('REST API', () => {
  let app: FastifyInstance
  let runner: MigrationRunner
  const as = (token: keyof typeof TOKENS) => ({ authorization: `Bearer ${token}` })

  beforeAll(async () => {
    const dir = tempDir('guts-api-')
    mkdirSync(join(dir, 'dest'))
    const hooks: FakeHooks = { rollbacks: [], vms: [{ id: 'a', name: 'vm-a', diskSizes: [64 * KiB] }] }
    const store = await openStateStore({ url: 'sqlite::memory:' })
    const service = createMigrationService({ registry: fakeRegistry(hooks, join(dir, 'dest')), store, workRoot: join(dir, 'work') })
    runner = new MigrationRunner(service, { info: () => undefined, warn: () => undefined })
    app = await buildApi({ service, runner, version: '0.0.0-test', auth: { mode: 'tokens', verify: async (s) => TOKENS[s] } })
  })
  afterAll(async () => {
    await runner.stop()
    await app.close()
  })

  it('health and readiness answer without a token', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' })
  })

  it('no token is 401, an unknown one 401, a viewer changing something 403 — each with the error shape', async () => {
    const none = await app.inject({ url: '/v1/migrations' })
    expect(none.statusCode).toBe(401)
    expect(none.json()).toMatchObject({ error: { code: 'GUTS_AUTH_FAILED', message: 'This API needs a token.' } })
    expect((await app.inject({ url: '/v1/migrations', headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401)
    const viewer = await app.inject({ method: 'POST', url: '/v1/migrations', headers: as('guts_viewer'), payload: { plan: PLAN } })
    expect(viewer.statusCode).toBe(403)
    expect(viewer.json().error.message).toContain('needs the operator role')
  })

  it('plans/validate: 400 with every problem located (line, column, path), 200 for a valid plan', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/plans/validate',
      headers: as('guts_viewer'),
      payload: { plan: PLAN.replace('name: vm-a', 'name: vm-a\n    flavor: 7\n    bogus: 1'), file: 'wave1.yaml' },
    })
    expect(bad.statusCode).toBe(400)
    const { error } = bad.json() as {
      error: { code: string; message: string; details: { issues: { line: number; col: number; path: string; file: string }[] } }
    }
    expect(error.code).toBe('GUTS_PLAN_INVALID')
    expect(error.message).toMatch(/^wave1\.yaml has 2 problems/)
    expect(error.details.issues.map((i) => [i.file, i.line, i.path])).toEqual([
      ['wave1.yaml', 7, 'vms[0].flavor'],
      ['wave1.yaml', 8, 'vms[0].bogus'],
    ])
    const ok = await app.inject({ method: 'POST', url: '/v1/plans/validate', headers: as('guts_viewer'), payload: { plan: PLAN } })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toMatchObject({ file: 'plan.yaml', valid: true })
  })

  it('a malformed body is 400 naming the field; an unknown route 404; no stack trace anywhere', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/migrations', headers: as('guts_operator'), payload: { plan: 3 } })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.details.issues[0].path).toBe('body.plan')
    const nf = await app.inject({ url: '/v1/nothing', headers: as('guts_viewer') })
    expect(nf.statusCode).toBe(404)
    for (const res of [r, nf]) expect(res.body).not.toMatch(/\n\s+at |\.ts:\d+/)
  })

  it('an invalid plan creates nothing: 400 with its locations, the list stays empty', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: as('guts_operator'),
      payload: { plan: 'version: 1\nname: x\n' },
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('GUTS_PLAN_INVALID')
    expect((await app.inject({ url: '/v1/migrations', headers: as('guts_viewer') })).json()).toMatchObject({ items: [], total: 0 })
  })

  it('create (YAML body) runs the migration; list, show, events page and SSE replay from Last-Event-ID; actions', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/migrations',
      headers: { ...as('guts_operator'), 'content-type': 'application/yaml' },
      payload: PLAN,
    })
    expect(created.statusCode).toBe(201)
    const { id, running } = created.json() as { id: string; running: boolean }
    expect(running).toBe(true)
    // The SSE stream follows the run to its end: every event once, in order, then `end`.
    const stream = await app.inject({ url: `/v1/migrations/${id}/events`, headers: { ...as('guts_viewer'), accept: 'text/event-stream' } })
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/)
    const ids = [...stream.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(ids.length).toBeGreaterThan(3)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
    expect(stream.body).toMatch(/event: migration\.finished\n/)
    expect(stream.body.trimEnd().endsWith('event: end\ndata: {}')).toBe(true)
    // A client that reconnects with Last-Event-ID gets exactly what came after it.
    const cut = ids[2]!
    const again = await app.inject({
      url: `/v1/migrations/${id}/events`,
      headers: { ...as('guts_viewer'), accept: 'text/event-stream', 'last-event-id': String(cut) },
    })
    expect([...again.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(ids.filter((s) => s > cut))

    const page = await app.inject({ url: `/v1/migrations/${id}/events?after=0&limit=2`, headers: as('guts_viewer') })
    expect(page.json()).toMatchObject({ items: [{ seq: ids[0] }, { seq: ids[1] }], next: ids[1] })
    const show = await app.inject({ url: `/v1/migrations/${id.slice(0, 8)}`, headers: as('guts_viewer') })
    expect(show.json()).toMatchObject({ id, status: 'succeeded', vms: [{ name: 'vm-a', status: 'succeeded' }] })
    const list = await app.inject({ url: '/v1/migrations?status=succeeded&name=api', headers: as('guts_viewer') })
    expect(list.json()).toMatchObject({ total: 1, items: [{ id, status: 'succeeded', vms: [{ name: 'vm-a' }] }] })

    // Actions: cancel is idempotent on a finished migration; cutover of a non-warm one is a 400.
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/migrations/${id}/actions/cancel`,
      headers: as('guts_operator'),
      payload: {},
    })
    expect(cancel.json()).toMatchObject({ id, status: 'succeeded' })
    const cutover = await app.inject({
      method: 'POST',
      url: `/v1/migrations/${id}/actions/cutover`,
      headers: as('guts_operator'),
      payload: {},
    })
    expect(cutover.statusCode).toBe(409)
    expect((await app.inject({ url: '/v1/migrations/ffffffff', headers: as('guts_viewer') })).statusCode).toBe(404)
  })

  it('serves its OpenAPI 3.1 document, built from the route schemas', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/migrations', '/v1/migrations/{id}', '/v1/migrations/{id}/events', '/v1/plans/validate', '/v1/drivers']),
    )
    expect(Object.keys(doc.paths['/v1/migrations']!)).toEqual(['post', 'get'])
  })
})
