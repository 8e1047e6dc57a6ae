import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createMigrationService } from '../../src/core/service.js'
import type { MigrationEvent } from '../../src/core/pipeline/events.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { tempDir } from '../helpers/cli.js'
import { fakeRegistry, filesUnder, type FakeHooks } from '../helpers/fake-registry.js'

const KiB = 1024
const plan = (vms: string[], policy = '') => `version: 1
name: engine
source: { driver: fake-src }
destination: { driver: fake-dst }
${policy}
vms:
${vms.map((v) => `  - name: ${v}`).join('\n')}
`

async function setup(hooks: Partial<FakeHooks> = {}) {
  const dir = tempDir('guts-engine-')
  const h: FakeHooks = { rollbacks: [], ...hooks }
  mkdirSync(join(dir, 'dest'))
  const store = await openStateStore({ url: 'sqlite::memory:' })
  const service = createMigrationService({ registry: fakeRegistry(h, join(dir, 'dest')), store, workRoot: join(dir, 'work') })
  const events: MigrationEvent[] = []
  return { dir, hooks: h, store, service, events, onEvent: (e: MigrationEvent) => events.push(e) }
}

describe('migration engine', () => {
  it('streams raw disks with sha256, records the route and succeeds', async () => {
    const t = await setup({ vms: [{ id: 'a', name: 'vm-a', diskSizes: [256 * KiB, 64 * KiB] }] })
    const m = await t.service.createMigration(plan(['vm-a']), '/plans/engine.yaml')
    const report = await t.service.runMigration(m.id, { onEvent: t.onEvent })
    expect(report.status).toBe('succeeded')
    expect(report.vms[0]!.disks).toEqual([
      expect.objectContaining({ id: 'disk-0', route: 'stream:raw->stream', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
      expect.objectContaining({ id: 'disk-1', route: 'stream:raw->stream' }),
    ])
    const stages = t.events.filter((e) => e.type === 'vm.stage' && e.state === 'started').map((e) => (e as { stage: string }).stage)
    expect(stages).toEqual(['discover', 'preflight', 'export', 'transfer', 'boot', 'verify', 'cleanup'])
    expect((await t.store.readEvents(m.id)).map((e) => e.type)).toContain('migration.finished')
  })

  it('rolls back exactly what a failed VM created and reports partial when others succeed', async () => {
    const t = await setup({
      vms: [
        { id: 'a', name: 'ok', diskSizes: [64 * KiB] },
        { id: 'b', name: 'bad', diskSizes: [64 * KiB, 32 * KiB] },
      ],
      failBootFor: ['bad'],
    })
    const m = await t.service.createMigration(plan(['ok', 'bad']), '/plans/engine.yaml')
    const report = await t.service.runMigration(m.id, { onEvent: t.onEvent })
    expect(report.status).toBe('partial')
    expect(report.vms.find((v) => v.name === 'bad')).toMatchObject({ status: 'failed', error: { code: 'GUTS_NOT_FOUND' } })
    expect(t.hooks.rollbacks).toEqual([{ vm: 'bad', undo: expect.any(Number) }])
    expect(t.hooks.rollbacks[0]!.undo).toBeGreaterThanOrEqual(2)
    expect(await t.store.listUndo(m.id, 'bad', { pendingOnly: true })).toEqual([])
    expect(filesUnder(join(t.dir, 'dest')).some((f) => f.includes('bad'))).toBe(false)
  })

  it('keeps a failed VM with keepOnFailure, and cleanup removes it later, idempotently', async () => {
    const t = await setup({ vms: [{ id: 'b', name: 'bad', diskSizes: [64 * KiB] }], failBootFor: ['bad'] })
    const m = await t.service.createMigration(plan(['bad']), '/plans/engine.yaml', { keepOnFailure: true })
    expect((await t.service.runMigration(m.id)).status).toBe('failed')
    expect(t.hooks.rollbacks).toEqual([])
    expect((await t.store.listUndo(m.id, 'bad', { pendingOnly: true })).length).toBeGreaterThan(0)
    // cleanup reads the plan again from its file; give it the text through a stored path-less plan
    const first = await t.service.cleanup(m.id)
    expect(first.cleaned).toEqual(['bad'])
    expect((await t.service.cleanup(m.id)).cleaned).toEqual([])
    expect((await t.service.getMigration(m.id)).status).toBe('rolled-back')
  })

  it('never runs more VMs at once than policy.concurrency', async () => {
    let active = 0
    let peak = 0
    const vms = ['v1', 'v2', 'v3', 'v4', 'v5'].map((name, i) => ({ id: `id-${i}`, name, diskSizes: [32 * KiB] }))
    const t = await setup({
      vms,
      onOpenDisk: async () => {
        active++
        peak = Math.max(peak, active)
        await new Promise((r) => setTimeout(r, 30))
        active--
      },
    })
    const m = await t.service.createMigration(
      plan(
        vms.map((v) => v.name),
        'policy: { concurrency: 2 }',
      ),
      '/plans/engine.yaml',
    )
    expect((await t.service.runMigration(m.id)).status).toBe('succeeded')
    expect(peak).toBe(2)
  })

  it('cancel from another process aborts the run and rolls back', async () => {
    let id = ''
    const t: Awaited<ReturnType<typeof setup>> = await setup({
      vms: [{ id: 'a', name: 'slow', diskSizes: [64 * KiB] }],
      onOpenDisk: async () => {
        await t.service.cancelMigration(id)
        await new Promise((r) => setTimeout(r, 2500)) // the heartbeat sees the request
      },
    })
    const m = await t.service.createMigration(plan(['slow']), '/plans/engine.yaml')
    id = m.id
    const report = await t.service.runMigration(m.id)
    expect(report.status).toBe('cancelled')
    expect(report.vms[0]).toMatchObject({ status: 'cancelled' })
    expect(t.hooks.rollbacks.map((r) => r.vm)).toEqual(['slow'])
  })

  it('refuses to run a migration another live process holds', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan(['fake-web-01']), '/plans/engine.yaml')
    await t.store.acquireLease(m.id, 'other-host:1', 60_000)
    await expect(t.service.runMigration(m.id)).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
  })
})
