import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineDestinationDriver, defineSourceDriver, GutsError, silentLogger } from '@guts/sdk'
import { createTestContext, fakeDestinationDriver } from '@guts/sdk/testing'
import { createMigrationService } from '../../src/core/service.js'
import type { MigrationEvent } from '../../src/core/pipeline/events.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { tempDir } from '../helpers/cli.js'
import { registryOf } from '../helpers/fake-registry.js'
import { runWarm } from '../../src/core/pipeline/vm-warm.js'
import { Checkpoints } from '../../src/core/pipeline/checkpoints.js'
import { WarmSource } from '../helpers/warm-source.js'

const KiB = 1024
const SIZE = 1024 * KiB
const plan = (extra = '', vm = 'mode: warm') => `version: 1
name: warm
source: { driver: warm-src }
destination: { driver: fake-dst }
warm: { syncInterval: 50ms${extra} }
vms:
  - name: web-01
    ${vm}
`

async function setup(opts = { randomAccess: true }) {
  const dir = tempDir('guts-warm-')
  mkdirSync(join(dir, 'dest'))
  const source = new WarmSource(dir, { id: 'vm-1', name: 'web-01' }, [SIZE, 256 * KiB], opts)
  source.write(0, 0, Buffer.alloc(300 * KiB, 0xab))
  return setupWith(dir, source)
}

async function setupWith(dir: string, source: WarmSource, o: { failBoot?: boolean } = {}) {
  const schema = { type: 'object', additionalProperties: true }
  const src = defineSourceDriver({
    name: 'warm-src',
    description: 'test',
    optionsSchema: schema,
    capabilities: source.capabilities,
    create: () => source,
  })
  const dst = defineDestinationDriver({
    name: 'fake-dst',
    description: 'test',
    optionsSchema: schema,
    create: () => {
      const inner = fakeDestinationDriver({ dir: join(dir, 'dest'), targetKind: 'file' })
      return o.failBoot
        ? Object.assign(Object.create(inner), {
            boot: async () => {
              throw new GutsError('GUTS_NOT_FOUND', 'flavor gone (injected)')
            },
          })
        : inner
    },
  })
  const registry = registryOf({ 'warm-src': src }, { 'fake-dst': dst })
  const store = await openStateStore({ url: 'sqlite::memory:' })
  const service = createMigrationService({ registry, store, workRoot: join(dir, 'work') })
  const events: MigrationEvent[] = []
  return { dir, source, store, service, events }
}

/** Runs the migration, and calls `step` on each event until the run ends. */
function run(t: Awaited<ReturnType<typeof setup>>, id: string, step: (e: MigrationEvent) => void = () => undefined) {
  return t.service.runMigration(id, {
    onEvent: (e) => {
      t.events.push(e)
      step(e)
    },
  })
}

const syncs = (events: MigrationEvent[]) => events.filter((e): e is Extract<MigrationEvent, { type: 'vm.sync' }> => e.type === 'vm.sync')

describe('warm migration', () => {
  it('full sync, delta syncs of only the changed blocks while the VM runs, then cutover with downtime', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan(), '/plans/warm.yaml')
    let wrote = false
    let requested: Promise<unknown> | undefined
    const report = await run(t, m.id, (e) => {
      if (e.type === 'vm.sync' && e.kind === 'full') {
        // Guest writes after the full sync: one 64 KiB block on disk 0, two partial blocks on disk 1.
        t.source.write(0, 512 * KiB, Buffer.alloc(64 * KiB, 0x11))
        t.source.write(1, 100 * KiB, Buffer.alloc(40 * KiB, 0x22))
        wrote = true
      }
      if (e.type === 'vm.sync' && e.kind === 'delta' && wrote) requested ??= t.service.requestCutover(m.id)
    })
    await requested
    expect(report.status).toBe('succeeded')
    const s = syncs(t.events)
    expect(s[0]).toMatchObject({ kind: 'full', sync: 1 })
    const delta = s.find((x) => x.kind === 'delta' && x.bytesChanged > 0)!
    expect(delta.bytesChanged).toBe(64 * KiB + 128 * KiB)
    expect(delta.bytesMoved).toBe(delta.bytesChanged)
    expect(s.at(-1)).toMatchObject({ kind: 'final' })
    expect(t.source.powerOffs).toEqual([{ method: 'shutdown', timeoutMs: 300_000 }])
    expect(t.source.snapshots.size).toBe(0)
    // Only the last export is flagged final: a source keeps nothing for a later sync after it.
    expect(t.source.finalSyncFlags.at(-1)).toBe(true)
    expect(t.source.finalSyncFlags.slice(0, -1).every((f) => !f)).toBe(true)
    const vm = report.vms[0]!
    expect(vm.downtime?.seconds).toBeGreaterThanOrEqual(0)
    expect(vm.warm).toMatchObject({ cutOver: true })
    expect(t.events.some((e) => e.type === 'vm.downtime')).toBe(true)
    // The destination holds exactly the source disks as they were at power-off.
    const landed = vm.instance!.data.disks as Record<string, { path: string }>
    for (const i of [0, 1]) expect(readFileSync(landed[`disk-${i}`]!.path).equals(readFileSync(t.source.diskPath(i)))).toBe(true)
  })

  it('writes between the last delta and the power-off reach the destination (final sync)', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan(), '/plans/warm.yaml')
    let requested: Promise<unknown> | undefined
    const report = await run(t, m.id, (e) => {
      if (e.type === 'vm.sync' && e.kind === 'delta' && !requested) {
        t.source.write(0, SIZE - 10, Buffer.from('last bytes'))
        requested = t.service.requestCutover(m.id, ['web-01'])
      }
    })
    await requested
    expect(report.status).toBe('succeeded')
    const final = syncs(t.events).find((x) => x.kind === 'final')!
    expect(final.bytesChanged).toBe(64 * KiB)
    const landed = report.vms[0]!.instance!.data.disks as Record<string, { path: string }>
    expect(
      readFileSync(landed['disk-0']!.path)
        .subarray(SIZE - 10)
        .toString(),
    ).toBe('last bytes')
  })

  it('a change-tracking reset at the source makes that disk a whole copy, and the result is still exact', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan(), '/plans/warm.yaml')
    let requested: Promise<unknown> | undefined
    const report = await run(t, m.id, (e) => {
      if (e.type === 'vm.sync' && e.kind === 'full') {
        t.source.resetNext = true
        t.source.write(0, 700 * KiB, Buffer.alloc(5, 0x44))
      }
      if (e.type === 'vm.sync' && e.kind === 'delta') requested ??= t.service.requestCutover(m.id)
    })
    await requested
    expect(report.status).toBe('succeeded')
    expect(t.events.some((e) => e.type === 'log' && e.message.includes('change tracking was reset'))).toBe(true)
    const landed = report.vms[0]!.instance!.data.disks as Record<string, { path: string }>
    expect(readFileSync(landed['disk-0']!.path).equals(readFileSync(t.source.diskPath(0)))).toBe(true)
  })

  it('without random access a delta sync reads the whole disk but copies only the changes', async () => {
    const t = await setup({ randomAccess: false })
    const m = await t.service.createMigration(plan(`, cutoverAt: "${new Date(Date.now() + 400).toISOString()}"`), '/plans/warm.yaml')
    const report = await run(t, m.id, (e) => {
      if (e.type === 'vm.sync' && e.kind === 'full') t.source.write(0, 64 * KiB, Buffer.alloc(10, 0x33))
    })
    expect(report.status).toBe('succeeded')
    const moved = syncs(t.events).filter((x) => x.kind !== 'full' && x.bytesChanged > 0)
    expect(moved[0]!.bytesMoved).toBe(SIZE) // disk-1 had no change, so it was not read at all
    expect(t.events.some((e) => e.type === 'log' && e.message.includes('no random access'))).toBe(true)
    const landed = report.vms[0]!.instance!.data.disks as Record<string, { path: string }>
    expect(readFileSync(landed['disk-0']!.path).equals(readFileSync(t.source.diskPath(0)))).toBe(true)
  })

  it('VMs waiting between syncs give their concurrency slot back: with concurrency 1, all three get in sync before the cutover', async () => {
    const dir = tempDir('guts-warm-many-')
    mkdirSync(join(dir, 'dest'))
    const names = ['a-01', 'a-02', 'a-03']
    const source = new WarmSource(
      dir,
      names.map((name, i) => ({ id: `vm-${i}`, name })),
      [128 * KiB],
    )
    const t = await setupWith(dir, source)
    const m = await t.service.createMigration(
      `version: 1
name: many
source: { driver: warm-src }
destination: { driver: fake-dst }
policy: { concurrency: 1 }
warm: { syncInterval: 1h }
vms: [{ match: { name: "a-*" }, mode: warm }]
`,
      '/plans/many.yaml',
    )
    const inSync = new Set<string>()
    let requested: Promise<unknown> | undefined
    const report = await run(t, m.id, (e) => {
      if (e.type === 'vm.warm' && e.state === 'waiting') inSync.add(e.vm)
      if (inSync.size === 3) requested ??= t.service.requestCutover(m.id)
    })
    await requested
    expect(report.status).toBe('succeeded')
    expect(source.fullSyncs.sort()).toEqual(names)
    expect(report.vms.every((v) => v.warm?.cutOver && v.downtime)).toBe(true)
  })

  it('a warm VM whose replicas cannot fit in the data directory fails preflight, touching nothing', async () => {
    const dir = tempDir('guts-warm-huge-')
    mkdirSync(join(dir, 'dest'))
    // 1 PiB of allocated data: no test machine has that free (the fake reports it as allocated).
    const source = new WarmSource(dir, { id: 'vm-9', name: 'huge-01' }, [64 * KiB])
    const describe = source.describeVm.bind(source)
    source.describeVm = async (ref) => {
      const d = await describe(ref)
      return { ...d, disks: d.disks.map((x) => ({ ...x, allocatedSize: 2 ** 50 })) }
    }
    const t = await setupWith(dir, source)
    const m = await t.service.createMigration(plan().replace('web-01', 'huge-01'), '/plans/warm.yaml')
    const report = await run(t, m.id)
    expect(report.status).toBe('failed')
    expect(String(report.vms[0]!.error!.message)).toMatch(/keeps replicas of its disks \(1048576\.0 GiB\) in .* free/)
    expect(source.snapshots.size).toBe(0)
    expect(syncs(t.events)).toEqual([])
  })

  it('a cutover that fails at the destination rolls back and powers the source on again', async () => {
    const dir = tempDir('guts-warm-fail-')
    mkdirSync(join(dir, 'dest'))
    const source = new WarmSource(dir, { id: 'vm-1', name: 'web-01' }, [128 * KiB])
    const t = await setupWith(dir, source, { failBoot: true })
    const m = await t.service.createMigration(plan(`, cutoverAt: "${new Date(Date.now() - 1000).toISOString()}"`), '/plans/warm.yaml')
    const report = await run(t, m.id)
    expect(report.status).toBe('failed')
    expect(source.powerOffs.length).toBe(1)
    expect(source.powerOns).toEqual(['web-01'])
    expect(source.powerState.get('vm-1')).toBe('on')
    expect(t.events.some((e) => e.type === 'vm.poweron')).toBe(true)
    // The rollback hands the source the last change ids: what it keeps for them can go (Hyper-V reference points).
    expect(source.released.at(-1)).toEqual({ changeIds: { 'disk-0': expect.stringMatching(/^gen-/) } })
    // A full sync while the VM ran, then the final one after the power-off.
    expect(source.finalSyncFlags).toEqual([false, true])
  })

  it('with --keep-on-failure the source stays off, and the user is told why', async () => {
    const dir = tempDir('guts-warm-keep-')
    mkdirSync(join(dir, 'dest'))
    const source = new WarmSource(dir, { id: 'vm-1', name: 'web-01' }, [128 * KiB])
    const t = await setupWith(dir, source, { failBoot: true })
    const m = await t.service.createMigration(plan('', 'mode: cold\n    powerOff: force'), '/plans/warm.yaml', { keepOnFailure: true })
    expect((await run(t, m.id)).status).toBe('failed')
    expect(source.powerOns).toEqual([])
    expect(
      t.events.some((e) => e.type === 'log' && e.message.includes('stays powered off at the source: its destination copy was kept')),
    ).toBe(true)
  })

  it('cutover of a migration with no warm VM is a usage error naming what is warm', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan('', 'mode: cold\n    powerOff: force'), '/plans/warm.yaml')
    const report = await run(t, m.id)
    expect(report.status).toBe('succeeded')
    await expect(t.service.requestCutover(m.id)).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
  })

  it('cold mode powers a running VM off first (force) and reports the downtime', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan('', 'mode: cold\n    powerOff: force'), '/plans/warm.yaml')
    const report = await run(t, m.id)
    expect(report.status).toBe('succeeded')
    expect(t.source.powerOffs).toEqual([{ method: 'force', timeoutMs: 300_000 }])
    expect(report.vms[0]!.downtime?.seconds).toBeGreaterThanOrEqual(0)
  })

  it('cold mode with powerOff: refuse fails a running VM at preflight, touching nothing', async () => {
    const t = await setup()
    const m = await t.service.createMigration(plan('', 'mode: cold\n    powerOff: refuse'), '/plans/warm.yaml')
    const report = await run(t, m.id)
    expect(report.status).toBe('failed')
    expect(report.vms[0]!.error).toMatchObject({ code: 'GUTS_PREFLIGHT_FAILED' })
    expect(String(report.vms[0]!.error!.message)).toContain('powerOff: refuse')
    expect(t.source.powerOffs).toEqual([])
    expect(t.source.snapshots.size).toBe(0)
  })
})

describe('warm migration resumed where its replicas are not', () => {
  it('starts over with a full sync; after the power-off that full sync is the final one', async () => {
    const dir = tempDir('guts-warm-elsewhere-')
    const source = new WarmSource(dir, { id: 'vm-1', name: 'web-01' }, [256 * KiB])
    source.write(0, 64 * KiB, Buffer.alloc(1000, 0x5a))
    const store = await openStateStore({ url: 'sqlite::memory:' })
    const m = await store.createMigration({ id: 'm-else', name: 'else', planText: 'x: 1\n' })
    const descriptor = await source.describeVm(source.vm)
    const events: MigrationEvent[] = []
    const checkpoints = new Checkpoints(store, m.id, 'web-01', {
      descriptor,
      poweredOffAt: new Date().toISOString(),
      warm: {
        replicas: { 'disk-0': join(dir, 'on-another-host', 'disk-0.replica.raw') },
        changeIds: { 'disk-0': 'gen-1' },
        syncs: 4,
        lastSyncAt: new Date().toISOString(),
      },
    })
    const workDir = join(dir, 'work')
    mkdirSync(workDir)
    const ctx = createTestContext({
      workDir,
      log: { ...silentLogger, warn: (msg: string) => events.push({ type: 'log', level: 'warn', message: msg }) },
    })
    await runWarm({
      store,
      migrationId: m.id,
      vmKey: 'web-01',
      checkpoints,
      drivers: { source, destination: fakeDestinationDriver() },
      ctx,
      exportOptions: { mode: 'snapshot', powerOff: 'shutdown', changeTracking: true },
      diskConcurrency: 1,
      emit: (e) => events.push(e),
      settings: { syncInterval: '1h', maxSyncFailures: 3, shutdownTimeout: '5m' },
      powerOff: 'shutdown',
      idle: (fn) => fn(),
    })
    expect(events.some((e) => e.type === 'log' && e.message.includes('not on this host'))).toBe(true)
    expect(syncs(events).map((e) => e.kind)).toEqual(['full'])
    const cp = checkpoints.current
    expect(cp.warm).toMatchObject({ cutOver: true, syncs: 1 })
    // That full sync was flagged final, so the source keeps nothing for a later one.
    expect(source.finalSyncFlags).toEqual([true])
    expect(readFileSync(cp.warm!.replicas['disk-0']!).equals(readFileSync(source.diskPath(0)))).toBe(true)
    // What the store holds is what the run acted on: a resumed process reads the same warm state.
    const stored = (await store.listVms(m.id)).find((v) => v.vmKey === 'web-01')!.checkpoint
    expect(stored.warm).toEqual(cp.warm)
    await store.close()
  })
})
