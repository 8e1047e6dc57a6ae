import assert from 'node:assert/strict'
import type { DriverContext } from '../context.js'
import type { DestinationDriver, DiskTarget, ImportSession, InstanceRef, TargetMapping } from '../destination.js'
import type { DiskDescriptor, DiskFormat, TransferResult, VmDescriptor, VmRef } from '../model.js'
import type { ExportSession, SourceDriver } from '../source.js'
import { assertFindings, assertNoErrors, jsonRoundTrip } from './checks.js'
import { createTestContext, type TestContext } from './context.js'
import { materializeRaw, measureFile } from './disk-io.js'
import { checkNothingLeft } from './import-steps.js'
import { imagesEqual, imageVirtualSize } from './qemu.js'
import { exportOptionsFor } from './source-suite.js'
import { check, need, TEST_TIMEOUT_MS, type TestApi } from './test-api.js'
import type { DiskTransfer } from './transfer.js'

/** Options of {@link pipelineSuite}: a source and a destination, each with its fixture. */
export interface PipelineSuiteOptions {
  /** `{ describe, it, beforeAll, afterAll }` from your test runner. */
  test: TestApi
  source: {
    factory: () => Promise<SourceDriver> | SourceDriver
    /** A powered-off VM the source can export. */
    fixture: { vm: VmRef }
  }
  destination: {
    factory: () => Promise<DestinationDriver> | DestinationDriver
    mapping: TargetMapping
    /**
     * Optional: where a booted disk can be read back, for destinations with `stream` targets.
     * Without it a stream target is checked by the sha256 of the bytes it was given (raw
     * targets); with it, by `qemu-img compare` against the source.
     */
    readBack?: (instance: InstanceRef, disk: DiskDescriptor) => Promise<{ path: string; format: DiskFormat }>
  }
  /**
   * The engine's disk transfer, which moves every disk: `engineTransfer` from `guts/testing`.
   * Required, so the suite certifies the pair with the code guts will run (see {@link DiskTransfer}).
   */
  transfer: DiskTransfer
  /** Replaces parts of the context the suite passes to every call. */
  context?: Partial<DriverContext>
}

interface Copied {
  disk: DiskDescriptor
  target: DiskTarget
  result: TransferResult
}

/**
 * A whole migration of one VM from `source` to `destination`, using only contract calls, in
 * the core's order: describeVm → both preflights → beginExport → beginImport → per disk
 * openDisk / openDiskTarget / copy / commitDisk → boot → verify → endExport / endImport; then
 * every target disk must equal its source (`qemu-img compare` for file targets, sha256 of the
 * raw content for stream targets) and rollback must remove everything. `await` it at the top
 * level of a test file. Pair a driver with the SDK's `fakeSourceDriver` or
 * `fakeDestinationDriver` to test one side alone.
 *
 * Disks move through `options.transfer`, the engine's own transfer, so the routes (qemu-img for
 * addressable sources into files, streams for raw streams, staging otherwise) are exactly the ones
 * guts will take with these drivers. Nothing is skipped here: the routes follow what the drivers return.
 *
 * ```ts
 * import { engineTransfer } from 'guts/testing'
 * await pipelineSuite({ test, source: { factory, fixture: { vm } }, destination: { factory: fakeDestinationDriver, mapping }, transfer: engineTransfer })
 * ```
 */
export async function pipelineSuite(options: PipelineSuiteOptions): Promise<void> {
  const { test: api } = options
  const names = await Promise.all([driverName(options.source.factory), driverName(options.destination.factory)])

  api.describe(`pipeline: ${names[0]} → ${names[1]}`, () => {
    let src: SourceDriver | undefined
    let dst: DestinationDriver | undefined
    let ctx: TestContext | undefined
    let vm: VmDescriptor | undefined
    let exported: ExportSession | undefined
    let imported: ImportSession | undefined
    let instance: InstanceRef | undefined
    const copied: Copied[] = []

    api.beforeAll(async () => {
      ctx = createTestContext(options.context)
      src = await options.source.factory()
      dst = await options.destination.factory()
    }, TEST_TIMEOUT_MS)
    api.afterAll(async () => {
      // Best effort after a failure: release the export, undo the import.
      if (src && ctx && exported) await src.endExport(exported, 'failed', ctx).catch(() => {})
      if (dst && ctx && imported) await dst.rollback(imported, ctx.undoNewestFirst(), ctx).catch(() => {})
      await src?.dispose()
      await dst?.dispose()
      await ctx?.cleanup()
    }, TEST_TIMEOUT_MS)

    const c = (): TestContext => need(ctx, 'createTestContext()')
    const s = (): SourceDriver => need(src, 'source factory()')
    const t = (): DestinationDriver => need(dst, 'destination factory()')
    const v = (): VmDescriptor => need(vm, 'describes the VM; both preflights find no errors')

    check(api, 'describes the VM; both preflights find no errors', async () => {
      await s().connect(c())
      await t().connect(c())
      const described = await s().describeVm(options.source.fixture.vm, c())
      assertNoErrors(assertFindings(await s().preflight(described, exportOptionsFor(s()), c()), 'source preflight'), 'source preflight')
      const found = await t().preflight(described, options.destination.mapping, c())
      assertNoErrors(assertFindings(found, 'destination preflight'), 'destination preflight')
      vm = described
    })

    check(api, 'exports, copies and commits every disk', async () => {
      exported = jsonRoundTrip(await s().beginExport(v(), exportOptionsFor(s()), c()), 'the export session')
      imported = jsonRoundTrip(await t().beginImport(v(), options.destination.mapping, c()), 'the import session')
      for (const disk of v().disks) {
        const source = await s().openDisk(exported, disk.id, c())
        try {
          const target = await t().openDiskTarget(imported, disk, c())
          const result = await options.transfer({ disk, source, target, workDir: c().workDir, signal: c().signal })
          assert.equal(result.diskId, disk.id, `the transfer of disk ${disk.id} reported disk ${result.diskId}`)
          await t().commitDisk(imported, disk, result, c())
          copied.push({ disk, target, result })
        } finally {
          await source.close?.()
        }
      }
    })

    check(api, 'boots and verifies the instance', async () => {
      const session = need(imported, 'exports, copies and commits every disk')
      instance = jsonRoundTrip(await t().boot(session, c()), 'the InstanceRef')
      assertNoErrors(assertFindings(await t().verify(session, instance, c()), 'verify'), 'verify')
    })

    check(api, 'every target disk equals its source disk', async () => {
      assert.equal(copied.length, v().disks.length, 'not every disk was copied')
      const session = need(exported, 'exports, copies and commits every disk')
      for (const { disk, target, result } of copied) {
        // A fresh read of the source: the reference the copy must match.
        const source = await s().openDisk(session, disk.id, c())
        let reference: string
        try {
          reference = await materializeRaw(source, c().workDir, c().signal)
        } finally {
          await source.close?.()
        }
        await checkSameContent(reference, disk, target, result, instance, options.destination.readBack)
      }
    })

    check(api, 'ends the export and the import', async () => {
      await s().endExport(need(exported, 'exports, copies and commits every disk'), 'succeeded', c())
      await t().endImport(need(imported, 'exports, copies and commits every disk'), 'succeeded', c())
      exported = undefined
    })

    check(api, 'rollback removes everything the import created', async () => {
      const undo = c().undoNewestFirst()
      await t().rollback(need(imported, 'exports, copies and commits every disk'), undo, c())
      checkNothingLeft(
        copied.map((x) => x.target),
        undo,
      )
      imported = undefined
    })
  })
}

async function driverName(
  factory: () => Promise<{ name: string; dispose(): Promise<void> }> | { name: string; dispose(): Promise<void> },
): Promise<string> {
  const driver = await factory()
  await driver.dispose()
  return String(driver.name)
}

async function checkSameContent(
  reference: string,
  disk: DiskDescriptor,
  target: DiskTarget,
  result: TransferResult,
  instance: InstanceRef | undefined,
  readBack: PipelineSuiteOptions['destination']['readBack'],
): Promise<void> {
  const landed =
    target.kind === 'file'
      ? { path: target.path, format: target.format }
      : readBack && instance
        ? await readBack(instance, disk)
        : undefined
  if (landed) {
    assert.equal(await imageVirtualSize(landed.path, landed.format), disk.virtualSize, `disk ${disk.id}: the target's virtual size differs`)
    const { equal, detail } = await imagesEqual(reference, 'raw', landed.path, landed.format)
    assert.ok(equal, `disk ${disk.id}: the target differs from the source: ${detail}`)
    return
  }
  if (target.format === 'raw') {
    // The engine hashes the raw content it streams; that hash must be the source's.
    const expected = await measureFile(reference)
    assert.ok(result.sha256, `disk ${disk.id}: the transfer (${result.route}) into a raw stream target reported no sha256`)
    assert.equal(result.sha256, expected.sha256, `disk ${disk.id}: the bytes written differ from the source content`)
  }
  // A non-raw stream target without readBack: its bytes came from qemu-img convert of the
  // staged source, which the core trusts as well; there is nothing further to read.
}
