import { GutsError } from '@guts/sdk'
import { sleep } from './http.js'

export interface WaitOptions {
  /** What is being waited for, for the timeout message: "volume guts-…-disk1 to become available". */
  what: string
  timeoutMs: number
  intervalMs?: number
  signal?: AbortSignal
}

/**
 * Polls `probe` until it returns a value (done) or throws (failed). Intervals grow from
 * `intervalMs` to 5 s, so short lab operations finish quickly and long ones cost few calls.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs
  let interval = o.intervalMs ?? 500
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() >= deadline) {
      throw new GutsError('GUTS_TIMEOUT', `Timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}.`, { retryable: true })
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), o.signal)
    interval = Math.min(interval * 1.5, 5_000)
  }
}
