import { describe, expect, it } from 'vitest'
import { backoffMs, MAX_BACKOFF_MS, poll, retryAfterMs, sleep } from '../src/retry.js'

describe('sleep', () => {
  it('waits, and rejects with GUTS_ABORTED when the signal fires (before or during)', async () => {
    const t0 = Date.now()
    await sleep(20)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15)
    const c = new AbortController()
    const pending = sleep(10_000, c.signal)
    c.abort(new Error('user pressed Ctrl-C'))
    await expect(pending).rejects.toMatchObject({ code: 'GUTS_ABORTED', message: 'Aborted: user pressed Ctrl-C' })
    await expect(sleep(10, c.signal)).rejects.toMatchObject({ code: 'GUTS_ABORTED' })
  })
})

describe('poll', () => {
  it('returns the first value, with growing intervals', async () => {
    let calls = 0
    const at: number[] = []
    const value = await poll(
      async () => {
        at.push(Date.now())
        return ++calls === 4 ? 'done' : undefined
      },
      { what: 'x', intervalMs: 10, maxIntervalMs: 40, factor: 2, timeoutMs: 5_000 },
    )
    expect(value).toBe('done')
    expect(calls).toBe(4)
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(at[1]! - at[0]!)
  })

  it('times out with GUTS_TIMEOUT naming what was awaited, after a last check at the deadline', async () => {
    let calls = 0
    const r = poll(
      async () => {
        calls++
        return undefined
      },
      { what: 'volume v1 to become available', intervalMs: 10, timeoutMs: 50 },
    )
    await expect(r).rejects.toMatchObject({
      code: 'GUTS_TIMEOUT',
      retryable: true,
      message: 'Timed out after 50 ms waiting for volume v1 to become available.',
    })
    expect(calls).toBeGreaterThanOrEqual(3)
  })

  it("uses the caller's timeout error, passes failures through and stops on abort", async () => {
    await expect(
      poll(async () => undefined, { what: 'x', intervalMs: 5, timeoutMs: 10, timeoutError: () => new Error('task t1 stuck') }),
    ).rejects.toThrow('task t1 stuck')
    await expect(poll(async () => Promise.reject(new Error('failed')), { what: 'x', timeoutMs: 100 })).rejects.toThrow('failed')
    const c = new AbortController()
    setTimeout(() => c.abort(), 20)
    await expect(poll(async () => undefined, { what: 'x', intervalMs: 5, timeoutMs: 10_000, signal: c.signal })).rejects.toMatchObject({
      code: 'GUTS_ABORTED',
    })
  })
})

describe('backoffMs', () => {
  it('grows exponentially with a little jitter, capped', () => {
    expect(backoffMs(0)).toBeGreaterThanOrEqual(500)
    expect(backoffMs(0)).toBeLessThan(750)
    expect(backoffMs(2)).toBeGreaterThanOrEqual(2000)
    expect(backoffMs(2)).toBeLessThan(2250)
    expect(backoffMs(20)).toBe(MAX_BACKOFF_MS)
  })

  it('honours Retry-After in seconds or as an HTTP date, capped', () => {
    expect(backoffMs(0, '2')).toBe(2000)
    expect(backoffMs(3, 0)).toBe(0)
    expect(backoffMs(0, '3600')).toBe(MAX_BACKOFF_MS)
    const now = Date.parse('2026-10-21T07:28:00Z')
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:05 GMT', now)).toBe(5000)
    expect(retryAfterMs('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0)
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs(null)).toBeUndefined()
    expect(backoffMs(1, 'soon')).toBeGreaterThanOrEqual(1000)
  })
})
