import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Finding, PlannedVm, UndoEntry } from '@guts/sdk'
import { createMigrationService } from '../../src/core/service.js'
import type { MigrationEvent } from '../../src/core/pipeline/events.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { tempDir } from '../helpers/cli.js'
import { fakeRegistry, type FakeHooks } from '../helpers/fake-registry.js'

/**
 * The two optional destination calls that look beyond one VM's undo log: `findLeftovers` (cleanup
 * finds what carries a VM's marks, even with no undo entry) and `preflightPlan` (the plan checked
 * as a whole before any VM exports).
 */
const KiB = 1024
const plan = (vms: string[]) => `version: 1
name: plan-checks
source: { driver: fake-src }
destination: { driver: fake-dst }
vms:
${vms.map((v) => `  - name: ${v}`).join('\n')}
`

async function setup(hooks: Partial<FakeHooks>) {
  const dir = tempDir('guts-plan-checks-')
  const dest = join(dir, 'dest')
  mkdirSync(dest)
  const h: FakeHooks = { rollbacks: [], ...hooks }
  const store = await openStateStore({ url: 'sqlite::memory:' })
  const service = createMigrationService({ registry: fakeRegistry(h, dest), store, workRoot: join(dir, 'work') })
  return { dest, hooks: h, store, service }
}

describe('cleanup finds leftovers by their marks', () => {
  it('deletes what a crashed run left with no undo entry, only for VMs that did not succeed', async () => {
    const queries: Record<string, string>[] = []
    let stray = ''
    const t = await setup({
      vms: [
        { id: 'a', name: 'ok', diskSizes: [64 * KiB] },
        { id: 'b', name: 'bad', diskSizes: [64 * KiB] },
      ],
      failBootFor: ['bad'],
      findLeftovers: (marks) => {
        queries.push({ ...marks })
        return marks['guts-source-vm'] === 'b' && existsSync(stray) ? [{ kind: 'file', ref: stray }] : []
      },
    })
    const m = await t.service.createMigration(plan(['ok', 'bad']), '/plans/plan-checks.yaml')
    expect((await t.service.runMigration(m.id)).status).toBe('partial')
    expect(await t.store.listUndo(m.id, 'bad', { pendingOnly: true })).toEqual([])
    // What an older run that died between creating and recording would have left behind.
    stray = join(t.dest, 'bad-from-a-crashed-run.raw')
    writeFileSync(stray, 'leftover')

    const first = await t.service.cleanup(m.id)
    expect(first.cleaned).toEqual(['bad'])
    expect(existsSync(stray)).toBe(false)
    expect(queries).toEqual([{ 'guts-migration': m.id, 'guts-source-vm': 'b' }])
    expect(readdirSync(t.dest).some((f) => f.startsWith('ok-'))).toBe(true)
    // Nothing left: a second cleanup finds nothing and cleans nothing.
    expect((await t.service.cleanup(m.id)).cleaned).toEqual([])
  })

  it('merges leftovers with the pending undo entries, once per resource', async () => {
    let pendingRef = ''
    const stray = { kind: 'file', ref: '' }
    const t = await setup({
      vms: [{ id: 'b', name: 'bad', diskSizes: [64 * KiB] }],
      failBootFor: ['bad'],
      findLeftovers: (): UndoEntry[] => [{ kind: 'file', ref: pendingRef }, stray],
    })
    const m = await t.service.createMigration(plan(['bad']), '/plans/plan-checks.yaml', { keepOnFailure: true })
    expect((await t.service.runMigration(m.id)).status).toBe('failed')
    const pending = await t.store.listUndo(m.id, 'bad', { pendingOnly: true })
    expect(pending.length).toBeGreaterThan(0)
    pendingRef = pending[0]!.ref
    stray.ref = join(t.dest, 'bad-stray.raw')
    writeFileSync(stray.ref, 'leftover')
    expect((await t.service.cleanup(m.id)).cleaned).toEqual(['bad'])
    expect(t.hooks.rollbacks).toEqual([{ vm: 'bad', undo: pending.length + 1 }])
    expect(readdirSync(t.dest)).toEqual([])
    expect(await t.store.listUndo(m.id, 'bad', { pendingOnly: true })).toEqual([])
  })
})

describe('preflightPlan checks the whole plan before any VM exports', () => {
  it('an error finding fails every VM, naming them, and nothing is created', async () => {
    const seen: PlannedVm[][] = []
    let opened = 0
    const events: MigrationEvent[] = []
    const t = await setup({
      vms: [
        { id: 'a', name: 'vm-a', diskSizes: [64 * KiB] },
        { id: 'b', name: 'vm-b', diskSizes: [64 * KiB] },
      ],
      onOpenDisk: () => void opened++,
      preflightPlan: (vms): Finding[] => {
        seen.push([...vms])
        return [
          { severity: 'error', code: 'quota-gigabytes', message: `vm-a and vm-b need 2 GiB together, 1 GiB is left`, ref: 'vm-a, vm-b' },
        ]
      },
    })
    const m = await t.service.createMigration(plan(['vm-a', 'vm-b']), '/plans/plan-checks.yaml')
    const report = await t.service.runMigration(m.id, { onEvent: (e) => events.push(e) })
    expect(report.status).toBe('failed')
    expect(seen).toHaveLength(1)
    expect(seen[0]!.map((p) => [p.vm.name, p.mapping.name, p.mapping.tags['guts-source-vm']])).toEqual([
      ['vm-a', 'vm-a', 'a'],
      ['vm-b', 'vm-b', 'b'],
    ])
    for (const vm of report.vms)
      expect(vm).toMatchObject({
        status: 'failed',
        error: { code: 'GUTS_PREFLIGHT_FAILED', message: expect.stringContaining('vm-a and vm-b') },
      })
    expect(opened).toBe(0)
    expect(readdirSync(t.dest)).toEqual([])
    expect(events.filter((e) => e.type === 'vm.stage' && e.state === 'started')).toEqual([])
    expect(events.filter((e) => e.type === 'vm.finding').map((e) => (e as { vm: string }).vm)).toEqual(['vm-a', 'vm-b'])
  })

  it('a check that throws fails every VM with its error, and nothing starts', async () => {
    let opened = 0
    const t = await setup({
      vms: [
        { id: 'a', name: 'vm-a', diskSizes: [64 * KiB] },
        { id: 'b', name: 'vm-b', diskSizes: [64 * KiB] },
      ],
      onOpenDisk: () => void opened++,
      preflightPlan: () => {
        throw new Error('quota API unreachable')
      },
    })
    const m = await t.service.createMigration(plan(['vm-a', 'vm-b']), '/plans/plan-checks.yaml')
    const report = await t.service.runMigration(m.id)
    expect(report.status).toBe('failed')
    for (const vm of report.vms)
      expect(vm).toMatchObject({
        status: 'failed',
        error: { code: 'GUTS_DRIVER_ERROR', message: expect.stringContaining('preflightPlan: quota API unreachable') },
      })
    expect(opened).toBe(0)
  })

  it('is called once; VMs then skip the discover it already did', async () => {
    let calls = 0
    const events: MigrationEvent[] = []
    const t = await setup({
      vms: [
        { id: 'a', name: 'vm-a', diskSizes: [64 * KiB] },
        { id: 'b', name: 'vm-b', diskSizes: [64 * KiB] },
      ],
      preflightPlan: () => (calls++, [{ severity: 'warning', code: 'tight', message: 'quotas are tight', ref: 'vm-b' }]),
    })
    const m = await t.service.createMigration(plan(['vm-a', 'vm-b']), '/plans/plan-checks.yaml')
    expect((await t.service.runMigration(m.id, { onEvent: (e) => events.push(e) })).status).toBe('succeeded')
    expect(calls).toBe(1)
    expect(events.filter((e) => e.type === 'vm.stage' && e.stage === 'discover').map((e) => (e as { state: string }).state)).toEqual([
      'skipped',
      'skipped',
    ])
    expect(events.filter((e) => e.type === 'vm.finding').map((e) => (e as { vm: string }).vm)).toEqual(['vm-b'])
  })
})
