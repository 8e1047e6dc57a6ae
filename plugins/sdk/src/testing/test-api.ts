/**
 * The test-runner surface the suites need. The SDK depends on no runner: a plugin passes the
 * functions of its own (vitest, bun test, jest, node:test with a thin adapter) and the suites
 * only ever call these four.
 */

/** A test body; may be async. */
export type TestBody = () => unknown

/** `it(name, fn, timeoutMs)`, optionally with a `skip(name, fn)` form. */
export interface TestFunction {
  (name: string, fn: TestBody, timeout?: number): unknown
  skip?: (name: string, fn: TestBody, timeout?: number) => unknown
}

/** What every suite takes as `test`: `{ describe, it, beforeAll, afterAll }` from your runner. */
export interface TestApi {
  describe(name: string, fn: () => void): unknown
  it: TestFunction
  beforeAll(fn: TestBody, timeout?: number): unknown
  afterAll(fn: TestBody, timeout?: number): unknown
}

/**
 * Per-test timeout handed to the runner. Real drivers copy whole disks and talk to remote
 * APIs, and some runners (bun) default to 5 s, which is far too short for that.
 */
export const TEST_TIMEOUT_MS = 300_000

/** Registers a test with the suite-wide timeout. */
export function check(api: TestApi, name: string, fn: TestBody): void {
  api.it(name, fn, TEST_TIMEOUT_MS)
}

/**
 * Registers `fn` only when the driver declares `capability`; otherwise registers it as skipped,
 * through `it.skip` when the runner has one, or as a test that returns at once and says why.
 * Capabilities are the only reason a suite skips anything: a driver cannot opt out of a check
 * it claims to support.
 */
export function checkIf(api: TestApi, declared: boolean, capability: string, name: string, fn: TestBody): void {
  if (declared) return check(api, name, fn)
  skip(api, name, `needs capability ${capability}`)
}

/** Registers a skipped test, with the reason in the log for runners that have no `it.skip`. */
export function skip(api: TestApi, name: string, reason: string): void {
  const body = (): void => {}
  if (typeof api.it.skip === 'function') {
    api.it.skip(`${name} (${reason})`, body)
    return
  }
  api.it(name, () => {
    console.info(`skipped: ${reason}`)
  })
}

/**
 * Suites are sequences of steps that build on each other (connect, then export, then copy…).
 * When an early step fails, later ones fail through this with a message naming the step to fix
 * first, instead of a confusing `undefined` error.
 */
export function need<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new Error(`This check depends on an earlier one that did not complete: "${step}". Fix that one first.`)
  return value
}
