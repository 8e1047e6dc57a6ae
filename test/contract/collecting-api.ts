import type { TestApi, TestBody } from '@guts/sdk/testing'

/**
 * Test APIs that let the self-tests see what a suite registers, and run it by hand: the only
 * way to check skipping and failing behaviour without nesting runners.
 */

export interface Registered {
  name: string
  skipped: boolean
}

/** Forwards to a real runner's API, remembering every registration. */
export function recordingApi(real: TestApi): { api: TestApi; registered: Registered[] } {
  const registered: Registered[] = []
  const realSkip = real.it.skip
  const it = Object.assign(
    (name: string, fn: TestBody, timeout?: number) => {
      registered.push({ name, skipped: false })
      return real.it(name, fn, timeout)
    },
    realSkip
      ? {
          skip: (name: string, fn: TestBody, timeout?: number) => {
            registered.push({ name, skipped: true })
            return realSkip(name, fn, timeout)
          },
        }
      : {},
  )
  return { api: { ...real, it }, registered }
}

export interface Outcome {
  name: string
  status: 'passed' | 'failed' | 'skipped'
  error?: unknown
  /** What the test logged with console.info. */
  logs: string[]
}

/**
 * A minimal runner: collects a suite's hooks and tests, then runs them in order. `withSkip`
 * decides whether the API offers `it.skip`, to exercise both skipping paths of the suites.
 */
export function collectingApi(withSkip: boolean): { api: TestApi; run(): Promise<Outcome[]> } {
  const tests: { name: string; fn: TestBody; skipped: boolean }[] = []
  const before: TestBody[] = []
  const after: TestBody[] = []
  const it = Object.assign(
    (name: string, fn: TestBody) => void tests.push({ name, fn, skipped: false }),
    withSkip ? { skip: (name: string, fn: TestBody) => void tests.push({ name, fn, skipped: true }) } : {},
  )
  const api: TestApi = {
    describe: (_name, fn) => fn(),
    it,
    beforeAll: (fn) => void before.push(fn),
    afterAll: (fn) => void after.push(fn),
  }
  async function run(): Promise<Outcome[]> {
    const outcomes: Outcome[] = []
    const info = console.info
    try {
      for (const fn of before) await fn()
      for (const t of tests) {
        const logs: string[] = []
        console.info = (...args: unknown[]) => void logs.push(args.map(String).join(' '))
        try {
          if (!t.skipped) await t.fn()
          outcomes.push({ name: t.name, status: t.skipped ? 'skipped' : 'passed', logs })
        } catch (error) {
          outcomes.push({ name: t.name, status: 'failed', error, logs })
        } finally {
          console.info = info
        }
      }
    } finally {
      for (const fn of after) await fn()
    }
    return outcomes
  }
  return { api, run }
}
