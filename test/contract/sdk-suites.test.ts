import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  destinationDriverSuite,
  fakeDestinationDriver,
  fakeSourceDriver,
  FAKE_SOURCE_VM,
  pipelineSuite,
  readBackFakeDisk,
  sourceDriverSuite,
  testMapping,
  testVm,
  createTestContext,
  type DiskTransfer,
  type TestApi,
} from '@guts/sdk/testing'
import { engineTransfer } from '../../src/testing.js'
import { createsBeforeRecordingDestination, upperCaseMacSource } from './broken-drivers.js'
import { collectingApi, recordingApi } from './collecting-api.js'

// The SDK's suites run over its own fakes: they are the reference drivers plugin authors pair with.
const test: TestApi = { describe, it, beforeAll, afterAll }
const badCredentials = () => fakeSourceDriver({ password: 'wrong' })
const mapping = testMapping({ flavor: 'm1.small' })
const unknownFlavorMapping = testMapping({ flavor: 'x9.enormous' })

// Sources: one without changed-block tracking (streams), one with it (files).
const plain = recordingApi(test)
await sourceDriverSuite({ test: plain.api, factory: () => fakeSourceDriver(), fixture: { vm: FAKE_SOURCE_VM, badCredentials } })
const tracking = recordingApi(test)
await sourceDriverSuite({
  test: tracking.api,
  factory: () => fakeSourceDriver({ changedBlocks: true, access: 'file' }),
  fixture: { vm: FAKE_SOURCE_VM, badCredentials },
})

// Destinations: raw stream targets, and qcow2 file targets (qemu-img convert, path checks).
const fixture = { vm: testVm(), mapping, unknownFlavorMapping }
const transfer = engineTransfer
await destinationDriverSuite({ test, factory: () => fakeDestinationDriver(), fixture, transfer })
await destinationDriverSuite({ test, factory: () => fakeDestinationDriver({ targetKind: 'file', format: 'qcow2' }), fixture, transfer })

// Pipelines over each engine route: raw stream → raw stream, file → qcow2 file, stream → qcow2 stream.
const source = { factory: () => fakeSourceDriver(), fixture: { vm: FAKE_SOURCE_VM } }
await pipelineSuite({ test, source, destination: { factory: () => fakeDestinationDriver(), mapping }, transfer })
await pipelineSuite({
  test,
  source: { ...source, factory: () => fakeSourceDriver({ access: 'file' }) },
  destination: { factory: () => fakeDestinationDriver({ targetKind: 'file', format: 'qcow2' }), mapping },
  transfer,
})
await pipelineSuite({
  test,
  source,
  destination: { factory: () => fakeDestinationDriver({ format: 'qcow2' }), mapping, readBack: readBackFakeDisk },
  transfer,
})

const EXTENTS = /changedExtents/

describe('capability skipping', () => {
  it('registers the changedExtents check with it.skip when changedBlocks is false', () => {
    const extents = plain.registered.filter((r) => EXTENTS.test(r.name))
    expect(extents).toHaveLength(1)
    expect(extents[0]?.skipped).toBe(true)
    expect(extents[0]?.name).toContain('needs capability changedBlocks')
  })

  it('runs the changedExtents check when changedBlocks is true', () => {
    const extents = tracking.registered.filter((r) => EXTENTS.test(r.name))
    expect(extents).toHaveLength(1)
    expect(extents[0]?.skipped).toBe(false)
  })

  it('skips nothing else: both drivers get the same checks', () => {
    const names = (list: { name: string }[]) => list.map((r) => r.name.replace(/ \(needs capability .*\)$/, ''))
    expect(names(plain.registered)).toEqual(names(tracking.registered))
  })

  it('without it.skip, registers a test that returns at once and logs why', async () => {
    const runner = collectingApi(false)
    await sourceDriverSuite({ test: runner.api, factory: () => fakeSourceDriver(), fixture: { vm: FAKE_SOURCE_VM } })
    const outcomes = await runner.run()
    const extents = outcomes.find((o) => EXTENTS.test(o.name))
    expect(extents?.status).toBe('passed')
    expect(extents?.logs).toEqual(['skipped: needs capability changedBlocks'])
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([])
  })
})

describe('the suites catch contract violations', () => {
  it('a source reporting upper-case MACs fails describeVm', async () => {
    const runner = collectingApi(true)
    await sourceDriverSuite({ test: runner.api, factory: upperCaseMacSource, fixture: { vm: FAKE_SOURCE_VM } })
    const failed = (await runner.run()).filter((o) => o.status === 'failed')
    // Later checks that need the descriptor fail too, naming the step to fix first.
    expect(failed[0]?.name).toBe('describeVm returns a well-formed descriptor')
    expect(String(failed[0]?.error)).toMatch(/MAC "52:54:00:AB:CD:EF"/)
    expect(String(failed[1]?.error)).toMatch(/depends on an earlier one/)
  })

  it('a destination creating its target before recording the undo entry fails openDiskTarget', async () => {
    const runner = collectingApi(true)
    await destinationDriverSuite({ test: runner.api, factory: createsBeforeRecordingDestination, fixture, transfer })
    const failed = (await runner.run()).find((o) => o.status === 'failed')
    expect(failed?.name).toBe('openDiskTarget records an undo entry before the target exists')
    expect(String(failed?.error)).toMatch(/already existed when its undo entry was recorded/)
  })

  it('the pipeline suite moves every disk with the transfer it is given, and fails when that transfer corrupts one', async () => {
    const moved: string[] = []
    const counting: DiskTransfer = async (request) => {
      moved.push(request.disk.id)
      return engineTransfer(request)
    }
    const honest = collectingApi(true)
    await pipelineSuite({ test: honest.api, source, destination: { factory: () => fakeDestinationDriver(), mapping }, transfer: counting })
    expect((await honest.run()).filter((o) => o.status !== 'passed')).toEqual([])
    const ctx = createTestContext()
    const reference = fakeSourceDriver()
    await reference.connect(ctx)
    const disks = (await reference.describeVm(FAKE_SOURCE_VM, ctx)).disks.map((d) => d.id)
    await reference.dispose()
    await ctx.cleanup()
    expect(moved).toEqual(disks)

    // A transfer that reports a wrong hash stands for one that moved the wrong bytes.
    const lying = collectingApi(true)
    const corrupting: DiskTransfer = async (request) => ({ ...(await engineTransfer(request)), sha256: '0'.repeat(64) })
    await pipelineSuite({ test: lying.api, source, destination: { factory: () => fakeDestinationDriver(), mapping }, transfer: corrupting })
    const failed = (await lying.run()).find((o) => o.status === 'failed')
    expect(failed?.name).toBe('every target disk equals its source disk')
    expect(String(failed?.error)).toMatch(/differ from the source content/)
  })
})
