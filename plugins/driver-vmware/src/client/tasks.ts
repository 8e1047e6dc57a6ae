import { abortedError, GutsError } from '@guts/sdk'
import { faultError } from './faults.js'
import { retrieve, type Caller, type PropValue } from './property-collector.js'
import { isObject, mustMoref, str, XSI_TYPE, type Moref, type XmlArg } from './xml.js'

export interface WaitOptions {
  timeoutMs?: number
  signal?: AbortSignal
  /** First poll interval; doubles up to 2 s (most tasks finish in well under a second). */
  intervalMs?: number
}

/**
 * Polls a Task's `info.state` until success (returns `info.result`) or error (throws the task's
 * fault as a GutsError). Polling, not WaitForUpdatesEx: one short call per interval is simple and
 * survives a re-login, which would drop a property filter.
 */
export async function waitForTask(caller: Caller, task: Moref, options: WaitOptions = {}): Promise<PropValue> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000
  const deadline = Date.now() + timeoutMs
  let interval = options.intervalMs ?? 50
  for (;;) {
    const [info] = await retrieve(caller, [task], 'Task', ['info.state', 'info.result', 'info.error', 'info.descriptionId'], options.signal)
    const state = info?.props['info.state']
    if (state === 'success') return info?.props['info.result']
    if (state === 'error') throw taskError(task, info?.props['info.descriptionId'], info?.props['info.error'])
    if (Date.now() + interval > deadline) {
      throw new GutsError('GUTS_TIMEOUT', `vSphere task ${task.value} did not finish within ${Math.round(timeoutMs / 1000)} s (state ${String(state)}).`, {
        details: { vmware: { task: task.value } },
        retryable: true,
      })
    }
    await sleep(interval, options.signal)
    interval = Math.min(interval * 2, 2000)
  }
}

/** Starts a `*_Task` method and waits for it. */
export async function runTask(caller: Caller, method: string, args: Record<string, XmlArg>, options: WaitOptions = {}): Promise<PropValue> {
  const task = mustMoref(await caller.call(method, args, options.signal), method)
  return waitForTask(caller, task, options)
}

/** `info.error` is a LocalizedMethodFault: `{fault xsi:type="InvalidPowerState", localizedMessage}`. */
export function taskError(task: Moref, description: PropValue, error: PropValue): GutsError {
  const fault = isObject(error) ? error.fault : undefined
  const name = isObject(fault) && typeof fault[XSI_TYPE] === 'string' ? fault[XSI_TYPE].replace(/^[^:]*:/, '') : 'unknown'
  const message = str(isObject(error) ? error : undefined, 'localizedMessage') ?? `task ${task.value} failed`
  const method = typeof description === 'string' ? description : `task ${task.value}`
  return faultError(method, { name, message, ...(isObject(fault) ? { detail: fault } : {}) })
}

/** An abortable sleep (rejects with GUTS_ABORTED). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal))
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortedError(signal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
