import { GutsError, isGutsError, throwIfAborted, type DestinationDriver, type DriverContext, type SourceDriver } from '@guts/sdk'

/**
 * The core never calls a driver directly: these wrappers give every driver the same guarantees,
 * whoever wrote it — a call after abort fails at once with GUTS_ABORTED, unknown errors become
 * GUTS_DRIVER_ERROR naming the driver and the call (with the original as `cause`), optional
 * methods are refused unless the matching capability is declared, and capabilities cannot change.
 */
export function runtimeSource(driver: SourceDriver): SourceDriver {
  const caps = Object.freeze({ ...driver.capabilities })
  const call = guard(driver.name)
  return {
    name: driver.name,
    apiVersion: driver.apiVersion,
    capabilities: caps,
    connect: (ctx) => call('connect', ctx, () => driver.connect(ctx)),
    listVms: (query, ctx) => guardIterable(driver.name, 'listVms', ctx, () => driver.listVms(query, ctx)),
    describeVm: (vm, ctx) => call('describeVm', ctx, () => driver.describeVm(vm, ctx)),
    preflight: (vm, options, ctx) => call('preflight', ctx, () => driver.preflight(vm, options, ctx)),
    beginExport: (vm, options, ctx) => call('beginExport', ctx, () => driver.beginExport(vm, options, ctx)),
    openDisk: (session, diskId, ctx) => call('openDisk', ctx, () => driver.openDisk(session, diskId, ctx)),
    changedExtents: (session, diskId, since, ctx) => {
      if (!caps.changedBlocks || !driver.changedExtents) throw unsupported(driver.name, 'changedBlocks')
      return guardIterable(driver.name, 'changedExtents', ctx, () => driver.changedExtents!(session, diskId, since, ctx))
    },
    powerOff: (vm, options, ctx) => {
      if (!caps.powerControl || !driver.powerOff) return Promise.reject(unsupported(driver.name, 'powerControl'))
      return call('powerOff', ctx, () => driver.powerOff!(vm, options, ctx))
    },
    // Cleanup must run even after an abort, so these skip the abort check.
    endExport: (session, outcome, ctx) => call('endExport', undefined, () => driver.endExport(session, outcome, ctx)),
    dispose: () => call('dispose', undefined, () => driver.dispose()),
    // Restoring a source after a failure runs after an abort too, like rollback.
    ...(caps.powerControl && driver.powerOn ? { powerOn: (vm, ctx) => call('powerOn', undefined, () => driver.powerOn!(vm, ctx)) } : {}),
    ...(driver.releaseLeftovers
      ? {
          releaseLeftovers: (vm, marks, ctx, release) =>
            call('releaseLeftovers', undefined, () => driver.releaseLeftovers!(vm, marks, ctx, release)),
        }
      : {}),
  }
}

export function runtimeDestination(driver: DestinationDriver): DestinationDriver {
  const call = guard(driver.name)
  return {
    name: driver.name,
    apiVersion: driver.apiVersion,
    capabilities: Object.freeze({ ...driver.capabilities }),
    connect: (ctx) => call('connect', ctx, () => driver.connect(ctx)),
    preflight: (vm, mapping, ctx) => call('preflight', ctx, () => driver.preflight(vm, mapping, ctx)),
    beginImport: (vm, mapping, ctx) => call('beginImport', ctx, () => driver.beginImport(vm, mapping, ctx)),
    openDiskTarget: (session, disk, ctx) => call('openDiskTarget', ctx, () => driver.openDiskTarget(session, disk, ctx)),
    commitDisk: (session, disk, result, ctx) => call('commitDisk', ctx, () => driver.commitDisk(session, disk, result, ctx)),
    boot: (session, ctx) => call('boot', ctx, () => driver.boot(session, ctx)),
    verify: (session, instance, ctx) => call('verify', ctx, () => driver.verify(session, instance, ctx)),
    rollback: (session, undo, ctx) => call('rollback', undefined, () => driver.rollback(session, undo, ctx)),
    endImport: (session, outcome, ctx) => call('endImport', undefined, () => driver.endImport(session, outcome, ctx)),
    dispose: () => call('dispose', undefined, () => driver.dispose()),
    // Optional methods exist on the wrapper only when the driver has them: the core tests for them.
    ...(driver.preflightPlan ? { preflightPlan: (vms, ctx) => call('preflightPlan', ctx, () => driver.preflightPlan!(vms, ctx)) } : {}),
    // Cleanup runs after a cancel too, so no abort check (like rollback).
    ...(driver.findLeftovers
      ? { findLeftovers: (marks, ctx) => call('findLeftovers', undefined, () => driver.findLeftovers!(marks, ctx)) }
      : {}),
  }
}

// --- internal ---

function guard(driverName: string) {
  return async <T>(method: string, ctx: DriverContext | undefined, fn: () => Promise<T>): Promise<T> => {
    throwIfAborted(ctx?.signal)
    try {
      return await fn()
    } catch (error) {
      throw normalise(driverName, method, error, ctx?.signal)
    }
  }
}

async function* guardIterable<T>(driverName: string, method: string, ctx: DriverContext, fn: () => AsyncIterable<T>): AsyncIterable<T> {
  throwIfAborted(ctx.signal)
  try {
    for await (const item of fn()) {
      throwIfAborted(ctx.signal)
      yield item
    }
  } catch (error) {
    throw normalise(driverName, method, error, ctx.signal)
  }
}

function normalise(driverName: string, method: string, error: unknown, signal?: AbortSignal): unknown {
  if (isGutsError(error)) return error
  if (signal?.aborted) return new GutsError('GUTS_ABORTED', `Aborted during ${driverName}.${method}.`, { cause: error })
  const message = error instanceof Error ? error.message : String(error)
  return new GutsError('GUTS_DRIVER_ERROR', `The ${driverName} driver failed in ${method}: ${message}`, {
    cause: error,
    suggestions: ["Run again with GUTS_DEBUG=1 for the driver's own log lines, and report it to the driver's authors if it persists."],
  })
}

function unsupported(driverName: string, capability: string): GutsError {
  return new GutsError('GUTS_UNSUPPORTED', `The ${driverName} driver does not declare the ${capability} capability this step needs.`)
}
