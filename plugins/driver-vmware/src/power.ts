import { GutsError, poll, type Logger, type PowerOffOptions, type VmRef } from '@guts/sdk'
import { faultNameOf } from './client/faults.js'
import { retrieve, type Caller } from './client/property-collector.js'
import { runTask } from './client/tasks.js'
import type { Moref } from './client/xml.js'

/**
 * Faults of ShutdownGuest that mean "the guest cannot do it" (no VMware Tools running, a guest
 * that does not support it, a VM busy with another operation): then the plug is pulled instead,
 * because the plan asked for the VM to be off either way.
 */
const GUEST_CANNOT = new Set(['ToolsUnavailable', 'NotSupported', 'InvalidState', 'GuestOperationsUnavailable'])

export interface PowerOffDeps {
  caller: Caller
  log: Logger
  signal?: AbortSignal
  /** How often runtime.powerState is polled while the guest shuts down. */
  pollMs?: number
  /** How long PowerOffVM_Task may take (it is quick on vSphere; minutes mean a stuck host). */
  taskTimeoutMs?: number
}

/**
 * Powers a VM off, idempotently. `shutdown` asks the guest OS (ShutdownGuest, clean filesystems)
 * and polls until the VM is off; after `timeoutMs`, or when the guest cannot shut down, it falls
 * back to PowerOffVM_Task like `force`. An InvalidPowerState answer is a race with someone (or the
 * guest) powering the VM off: success once the VM is seen off.
 */
export async function powerOffVm(vm: VmRef, options: PowerOffOptions, deps: PowerOffDeps): Promise<void> {
  const ref: Moref = { type: 'VirtualMachine', value: vm.id }
  const name = vm.name || vm.id
  const state = await powerStateOf(deps, ref)
  if (state === 'poweredOff') return
  if (options.method === 'shutdown' && state === 'poweredOn') {
    if (await shutdownGuest(deps, ref, name, options.timeoutMs)) return
  } else if (options.method === 'shutdown') {
    deps.log.warn(`${name} is ${state}: a guest shutdown is not possible, powering it off`, { vm: vm.id })
  }
  await forcePowerOff(deps, ref, name)
}

/** True once the guest has shut the VM down; false when it must be forced. */
async function shutdownGuest(deps: PowerOffDeps, ref: Moref, name: string, timeoutMs: number): Promise<boolean> {
  try {
    await deps.caller.call('ShutdownGuest', { _this: ref }, deps.signal)
  } catch (error) {
    const fault = faultNameOf(error)
    if (fault === 'InvalidPowerState' && (await powerStateOf(deps, ref)) === 'poweredOff') return true
    if (!fault || !(GUEST_CANNOT.has(fault) || fault === 'InvalidPowerState')) throw named(error, 'shut down', name)
    deps.log.warn(`${name}: the guest cannot shut down (${fault}), powering it off instead`, { vm: ref.value, fault })
    return false
  }
  deps.log.info(`${name}: guest shutdown requested, waiting up to ${Math.round(timeoutMs / 1000)} s`, { vm: ref.value })
  const pollMs = deps.pollMs ?? 2000
  // Running out of time is no failure here: the plug is pulled instead.
  const outOfTime = new Error('guest shutdown timed out')
  try {
    return await poll(async () => ((await powerStateOf(deps, ref)) === 'poweredOff' ? true : undefined), {
      what: `${name} to shut down`,
      timeoutMs,
      intervalMs: pollMs,
      maxIntervalMs: pollMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
      timeoutError: () => outOfTime,
    })
  } catch (error) {
    if (error !== outOfTime) throw error
  }
  deps.log.warn(`${name} did not shut down within ${Math.round(timeoutMs / 1000)} s, powering it off`, { vm: ref.value })
  return false
}

async function forcePowerOff(deps: PowerOffDeps, ref: Moref, name: string): Promise<void> {
  try {
    await runTask(
      deps.caller,
      'PowerOffVM_Task',
      { _this: ref },
      { timeoutMs: deps.taskTimeoutMs ?? 10 * 60_000, ...(deps.signal ? { signal: deps.signal } : {}) },
    )
  } catch (error) {
    if (faultNameOf(error) === 'InvalidPowerState' && (await powerStateOf(deps, ref)) === 'poweredOff') return
    throw named(error, 'power off', name)
  }
  deps.log.info(`${name} powered off`, { vm: ref.value })
}

/** The error with the VM named in its message (a fault text alone does not say which VM). */
function named(error: unknown, verb: string, name: string): GutsError {
  const e = error as Partial<GutsError>
  return new GutsError(e.code ?? 'GUTS_DRIVER_ERROR', `Could not ${verb} ${name}: ${(error as Error).message}`, {
    cause: error,
    ref: name,
    retryable: e.retryable ?? false,
    ...(e.details ? { details: e.details } : {}),
    ...(e.suggestions?.length ? { suggestions: e.suggestions } : {}),
  })
}

export async function powerStateOf(deps: Pick<PowerOffDeps, 'caller' | 'signal'>, ref: Moref): Promise<string> {
  const [o] = await retrieve(deps.caller, [ref], 'VirtualMachine', ['runtime.powerState'], deps.signal)
  const state = o?.props['runtime.powerState']
  if (typeof state !== 'string')
    throw new GutsError('GUTS_NOT_FOUND', `VM ${ref.value} was not found in vSphere (no power state).`, { ref: ref.value })
  return state
}

/** Powers a VM on, idempotently (a VM already on is fine): the source runs again after a failed cutover. */
export async function powerOnVm(vm: VmRef, deps: PowerOffDeps): Promise<void> {
  const ref: Moref = { type: 'VirtualMachine', value: vm.id }
  const name = vm.name || vm.id
  if ((await powerStateOf(deps, ref)) === 'poweredOn') return
  try {
    await runTask(
      deps.caller,
      'PowerOnVM_Task',
      { _this: ref },
      { timeoutMs: deps.taskTimeoutMs ?? 10 * 60_000, ...(deps.signal ? { signal: deps.signal } : {}) },
    )
  } catch (error) {
    if (faultNameOf(error) === 'InvalidPowerState' && (await powerStateOf(deps, ref)) === 'poweredOn') return
    throw named(error, 'power on', name)
  }
  deps.log.info(`${name} powered on again`, { vm: ref.value })
}
