import { abortedError, GutsError } from './errors.js'

/**
 * Waiting, the same way in every driver: an abortable sleep, a poll loop with growing intervals
 * that ends in GUTS_TIMEOUT, and the backoff between retries of a failed call.
 */

/** Sleeps `ms`; rejects with GUTS_ABORTED (the SDK's `abortedError`) as soon as the signal fires. */
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

export interface PollOptions {
  /** What is awaited, for the timeout message: "volume guts-…-disk1 to become available". */
  what: string
  timeoutMs: number
  /** First interval between checks (default 500 ms). */
  intervalMs?: number
  /** Intervals grow by `factor` up to this (default 5 s). */
  maxIntervalMs?: number
  /** Growth of the interval per round (default 1.5). */
  factor?: number
  signal?: AbortSignal
  /** The error to throw on timeout instead of the generic one (a vSphere task adds its state). */
  timeoutError?: () => Error
}

/**
 * Calls `check` until it returns a value (done) or throws (failed). Intervals grow from
 * `intervalMs` to `maxIntervalMs`, so short operations finish quickly and long ones cost few calls.
 * The last check happens at the deadline, not one interval before it.
 */
export async function poll<T>(check: () => Promise<T | undefined>, o: PollOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs
  const max = o.maxIntervalMs ?? 5_000
  let interval = Math.min(o.intervalMs ?? 500, max)
  for (;;) {
    if (o.signal?.aborted) throw abortedError(o.signal)
    const value = await check()
    if (value !== undefined) return value
    const left = deadline - Date.now()
    if (left <= 0) throw o.timeoutError?.() ?? timeoutError(o)
    await sleep(Math.min(interval, left), o.signal)
    interval = Math.min(interval * (o.factor ?? 1.5), max)
  }
}

function timeoutError(o: PollOptions): GutsError {
  const took = o.timeoutMs >= 1000 ? `${Math.round(o.timeoutMs / 1000)} s` : `${o.timeoutMs} ms`
  return new GutsError('GUTS_TIMEOUT', `Timed out after ${took} waiting for ${o.what}.`, {
    retryable: true,
    suggestions: ['The peer may just be slow: retry, or raise the timeout if the plan has one for this step.'],
  })
}

/** Retry-After never makes us wait longer than this, nor does the exponential backoff. */
export const MAX_BACKOFF_MS = 30_000

/**
 * The wait before retry `attempt` (0-based): 0.5 s, 1 s, 2 s, 4 s … plus up to 250 ms of jitter
 * (so that parallel disks do not retry in lockstep), or what the server asked for in Retry-After
 * (seconds, or an HTTP date), always capped at `MAX_BACKOFF_MS`.
 */
export function backoffMs(attempt: number, retryAfter?: string | number | null): number {
  const asked = retryAfterMs(retryAfter)
  if (asked !== undefined) return Math.min(asked, MAX_BACKOFF_MS)
  return Math.min(500 * 2 ** attempt + Math.floor(Math.random() * 250), MAX_BACKOFF_MS)
}

/** Retry-After in ms: `120` (seconds) or `Wed, 21 Oct 2026 07:28:00 GMT`; undefined if absent or unreadable. */
export function retryAfterMs(value: string | number | null | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const at = Date.parse(String(value))
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
