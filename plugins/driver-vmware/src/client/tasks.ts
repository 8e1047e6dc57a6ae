import { GutsError, poll } from '@guts/sdk'
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
  let state: PropValue
  // `poll` wants undefined for "not yet"; a task's result may itself be undefined, so box it.
  const done = await poll(
    async () => {
      const [info] = await retrieve(
        caller,
        [task],
        'Task',
        ['info.state', 'info.result', 'info.error', 'info.descriptionId'],
        options.signal,
      )
      state = info?.props['info.state']
      if (state === 'success') return { result: info?.props['info.result'] }
      if (state === 'error') throw taskError(task, info?.props['info.descriptionId'], info?.props['info.error'])
      return undefined
    },
    {
      what: `vSphere task ${task.value}`,
      timeoutMs,
      intervalMs: options.intervalMs ?? 50,
      factor: 2,
      maxIntervalMs: 2000,
      ...(options.signal ? { signal: options.signal } : {}),
      timeoutError: () =>
        new GutsError(
          'GUTS_TIMEOUT',
          `vSphere task ${task.value} did not finish within ${Math.round(timeoutMs / 1000)} s (state ${String(state)}).`,
          {
            details: { vmware: { task: task.value } },
            retryable: true,
          },
        ),
    },
  )
  return done.result
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
