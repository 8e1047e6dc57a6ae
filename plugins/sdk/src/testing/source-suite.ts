import assert from 'node:assert/strict'
import type { DriverContext } from '../context.js'
import { isGutsError } from '../errors.js'
import type { VmDescriptor, VmRef } from '../model.js'
import type { ExportOptions, ExportSession, SourceDriver } from '../source.js'
import { checkConnectKeepsCapabilities, checkIdentity, checkSourceCapabilities } from './capabilities.js'
import { assertFindings, jsonRoundTrip, rejectsWith } from './checks.js'
import { abortedContext, createTestContext, type TestContext } from './context.js'
import { checkChangedExtents, checkDiskDelivery, checkVmDescriptor } from './source-checks.js'
import { check, checkIf, need, skip, TEST_TIMEOUT_MS, type TestApi } from './test-api.js'

/** Options of {@link sourceDriverSuite}. */
export interface SourceSuiteOptions {
  /** `{ describe, it, beforeAll, afterAll }` from your test runner. */
  test: TestApi
  /** A fresh, unconnected driver, configured to reach the fixture. Called several times. */
  factory: () => Promise<SourceDriver> | SourceDriver
  fixture: {
    /** A VM the driver can see and export; it should be powered off (cold export). */
    vm: VmRef
    /** A driver configured with wrong credentials; without it that check is skipped. */
    badCredentials?: () => Promise<SourceDriver> | SourceDriver
  }
  /** Replaces parts of the context the suite passes to every call (e.g. a real logger). */
  context?: Partial<DriverContext>
}

/** Live export when the driver can, else cold export of a VM that must already be off. */
export function exportOptionsFor(driver: SourceDriver): ExportOptions {
  return { mode: driver.capabilities.liveExport ? 'snapshot' : 'cold', powerOff: 'refuse' }
}

/**
 * The conformance suite for a source driver. `await` it at the top level of a test file.
 *
 * It checks, in order: a valid name and apiVersion 1; frozen, JSON-safe, valid capabilities that
 * `connect` leaves unchanged; idempotent `connect`/`dispose`; `listVms` ids unique and including
 * the fixture VM; a well-formed `describeVm` (cpus ≥ 1, memory > 0, disks with unique ids and
 * indexes and virtualSize > 0, lower-case MACs); GUTS_NOT_FOUND for an unknown VM; well-formed
 * preflight findings; a JSON-serialisable export session that still works after a JSON round
 * trip; every disk opened with a declared `diskAccess` kind and delivering exactly virtualSize
 * bytes (counted for raw streams, `qemu-img info` otherwise); idempotent `endExport`;
 * GUTS_AUTH_FAILED for bad credentials; GUTS_ABORTED within 5 s for an aborted signal.
 *
 * Capability skipping: the `changedExtents` check runs only when `capabilities.changedBlocks`
 * is true and the `powerOff` check only with `capabilities.powerControl`; otherwise they are
 * registered with `it.skip` (or, for runners without it, as a test that logs
 * "skipped: needs capability …"). The driver is created once before registration to read its
 * capabilities, which is why the suite is async.
 */
export async function sourceDriverSuite(options: SourceSuiteOptions): Promise<void> {
  const { test: api, factory, fixture } = options
  const probe = await factory()
  // Tolerant reads: a missing or malformed declaration is reported by the capabilities check,
  // not by a crash while registering.
  const caps: Partial<SourceDriver['capabilities']> = probe.capabilities ?? {}
  const name = String(probe.name)
  await probe.dispose()

  api.describe(`source driver conformance: ${name}`, () => {
    let driver: SourceDriver | undefined
    let ctx: TestContext | undefined
    let described: VmDescriptor | undefined
    let session: ExportSession | undefined

    api.beforeAll(async () => {
      ctx = createTestContext(options.context)
      driver = await factory()
    }, TEST_TIMEOUT_MS)
    api.afterAll(async () => {
      // Still open only when a check failed before endExport: release it anyway.
      if (driver && ctx && session) await driver.endExport(session, 'failed', ctx).catch(() => {})
      await driver?.dispose()
      await ctx?.cleanup()
    }, TEST_TIMEOUT_MS)

    const d = (): SourceDriver => need(driver, 'factory()')
    const c = (): TestContext => need(ctx, 'createTestContext()')

    check(api, 'has a valid name and apiVersion 1', () => checkIdentity(d()))
    check(api, 'declares frozen, JSON-safe, valid capabilities', () => checkSourceCapabilities(d().capabilities))
    check(api, 'connect is idempotent and leaves capabilities unchanged', () => checkConnectKeepsCapabilities(d(), () => d().connect(c())))

    check(api, 'listVms yields unique ids, including the fixture VM', async () => {
      const ids: string[] = []
      for await (const vm of d().listVms({}, c())) ids.push(vm.id)
      assert.equal(new Set(ids).size, ids.length, `listVms returned duplicate ids: ${ids.join(', ')}`)
      assert.ok(ids.includes(fixture.vm.id), `listVms did not return the fixture VM ${fixture.vm.id}`)
    })

    check(api, 'describeVm returns a well-formed descriptor', async () => {
      const vm = await d().describeVm(fixture.vm, c())
      checkVmDescriptor(vm, fixture.vm)
      described = vm
    })

    check(api, 'describeVm rejects an unknown VM with GUTS_NOT_FOUND', () =>
      rejectsWith(
        () => d().describeVm({ id: 'guts-conformance-no-such-vm', name: 'guts-conformance-no-such-vm' }, c()),
        'GUTS_NOT_FOUND',
        'describeVm(unknown)',
      ),
    )

    check(api, 'preflight returns well-formed findings', async () => {
      const vm = need(described, 'describeVm returns a well-formed descriptor')
      assertFindings(await d().preflight(vm, exportOptionsFor(d()), c()), 'preflight')
    })

    check(api, 'beginExport returns a JSON-serialisable session', async () => {
      const vm = need(described, 'describeVm returns a well-formed descriptor')
      // Kept before the JSON check so afterAll still ends the export if the check fails.
      session = await d().beginExport(vm, exportOptionsFor(d()), c())
      // From here on only the JSON copy is used, as after a crash and restart of the core.
      session = jsonRoundTrip(session, 'the export session')
      assert.equal(session.vm.id, vm.id, 'session.vm.id must be the exported VM')
      assert.equal(session.mode, exportOptionsFor(d()).mode, 'session.mode must be the requested mode')
    })

    check(api, 'openDisk (with the JSON copy of the session) delivers every disk in full', async () => {
      const vm = need(described, 'describeVm returns a well-formed descriptor')
      const s = need(session, 'beginExport returns a JSON-serialisable session')
      for (const disk of vm.disks) await checkDiskDelivery(d(), s, disk, c())
    })

    checkIf(
      api,
      caps.changedBlocks === true,
      'changedBlocks',
      'changedExtents yields sorted, non-overlapping extents within the disk',
      async () => {
        const vm = need(described, 'describeVm returns a well-formed descriptor')
        const s = need(session, 'beginExport returns a JSON-serialisable session')
        for (const disk of vm.disks) await checkChangedExtents(d(), s, disk, c())
      },
    )

    checkIf(api, caps.powerControl === true, 'powerControl', 'implements powerOff', () => {
      assert.equal(typeof d().powerOff, 'function', 'capabilities.powerControl is true, so powerOff must be implemented')
    })

    check(api, 'endExport is idempotent', async () => {
      const s = need(session, 'beginExport returns a JSON-serialisable session')
      await d().endExport(s, 'succeeded', c())
      await d().endExport(s, 'succeeded', c())
      session = undefined
    })

    if (fixture.badCredentials) {
      const bad = fixture.badCredentials
      check(api, 'connect rejects bad credentials with GUTS_AUTH_FAILED', async () => {
        const other = await bad()
        try {
          await rejectsWith(() => other.connect(c()), 'GUTS_AUTH_FAILED', 'connect(bad credentials)')
        } finally {
          await other.dispose()
        }
      })
    } else {
      skip(api, 'connect rejects bad credentials with GUTS_AUTH_FAILED', 'needs fixture.badCredentials')
    }

    check(api, 'an aborted signal makes describeVm or openDisk reject with GUTS_ABORTED within 5 s', () => checkAbort(d(), c(), fixture.vm))

    check(api, 'connect and dispose are idempotent on a fresh instance', async () => {
      const other = await factory()
      await other.connect(c())
      await other.connect(c())
      await other.dispose()
      await other.dispose()
    })
  })
}

/**
 * Drivers must stop on their signal. Metadata calls are the cheapest place to see it: either
 * describeVm rejects, or, when describeVm is too quick to look at the signal, openDisk must.
 */
async function checkAbort(driver: SourceDriver, ctx: TestContext, ref: VmRef): Promise<void> {
  const aborted = abortedContext(ctx)
  let described: VmDescriptor | undefined
  try {
    described = await withinMs(driver.describeVm(ref, aborted), 5000, 'describeVm with an aborted signal')
  } catch (error) {
    if (isGutsError(error) && error.code === 'GUTS_ABORTED') return
    const got = isGutsError(error) ? `${error.code}: ${error.message}` : String(error)
    assert.fail(`describeVm with an aborted signal must reject with GUTS_ABORTED, got ${got}`)
  }
  const session = await driver.beginExport(described, exportOptionsFor(driver), ctx)
  try {
    const disk = need(described.disks[0], 'describeVm returns a well-formed descriptor')
    await rejectsWith(
      () => driver.openDisk(session, disk.id, aborted),
      'GUTS_ABORTED',
      'describeVm or openDisk with an aborted signal',
      5000,
    )
  } finally {
    await driver.endExport(session, 'aborted', ctx)
  }
}

async function withinMs<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
