import assert from 'node:assert/strict'
import { isGutsError, type GutsErrorCode } from '../errors.js'
import type { Finding } from '../model.js'

/** Assertions shared by the suites; each message says what the driver must change. */

export const DRIVER_NAME = /^[a-z][a-z0-9-]*$/
export const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/
const SEVERITIES = new Set(['error', 'warning', 'info'])

/**
 * Asserts `value` survives `JSON.stringify` / `JSON.parse` unchanged (no undefined, Dates,
 * class instances, functions or cycles), and returns the parsed copy. The core persists
 * sessions, undo entries and instance refs as JSON and hands the copy back after a restart.
 */
export function jsonRoundTrip<T>(value: T, what: string): T {
  let text: string
  try {
    text = JSON.stringify(value)
  } catch (error) {
    assert.fail(`${what} is not JSON-serialisable: ${String(error)}`)
  }
  const copy = JSON.parse(text) as T
  assert.deepStrictEqual(copy, value, `${what} must be plain JSON: it changes when round-tripped through JSON`)
  return copy
}

/** Asserts an object and every object or array inside it are frozen. */
export function assertDeepFrozen(value: object, what: string): void {
  assert.ok(Object.isFrozen(value), `${what} must be frozen (use sourceCapabilities()/destinationCapabilities())`)
  for (const [key, inner] of Object.entries(value)) {
    if (typeof inner === 'object' && inner !== null) assertDeepFrozen(inner as object, `${what}.${key}`)
  }
}

/** Asserts a non-empty, duplicate-free array whose items are all in `allowed`. */
export function assertSubset(values: unknown, allowed: readonly string[], what: string): void {
  assert.ok(Array.isArray(values) && values.length > 0, `${what} must be a non-empty array`)
  assert.equal(new Set(values).size, values.length, `${what} has duplicates`)
  for (const v of values) assert.ok(allowed.includes(v as string), `${what} contains "${String(v)}"; allowed: ${allowed.join(', ')}`)
}

/** Asserts an array of well-formed findings and returns it typed. */
export function assertFindings(findings: unknown, what: string): Finding[] {
  assert.ok(Array.isArray(findings), `${what} must return an array of findings`)
  for (const f of findings as Finding[]) {
    assert.ok(typeof f === 'object' && f !== null, `${what}: every finding must be an object`)
    assert.ok(SEVERITIES.has(f.severity), `${what}: severity "${String(f.severity)}" is not error/warning/info`)
    assert.ok(typeof f.code === 'string' && f.code.length > 0, `${what}: every finding needs a code`)
    assert.ok(typeof f.message === 'string' && f.message.length > 0, `${what}: every finding needs a message`)
  }
  jsonRoundTrip(findings, `${what} findings`)
  return findings as Finding[]
}

/** Asserts no finding is an error, listing them when there are. */
export function assertNoErrors(findings: Finding[], what: string): void {
  const errors = findings.filter((f) => f.severity === 'error')
  assert.equal(errors.length, 0, `${what} reported errors: ${errors.map((f) => `${f.code}: ${f.message}`).join('; ')}`)
}

/**
 * Asserts `work` rejects with a GutsError of `code` (checked structurally, since a plugin may
 * bundle its own SDK copy). With `withinMs`, it must also settle that fast.
 */
export async function rejectsWith(work: () => Promise<unknown>, code: GutsErrorCode, what: string, withinMs?: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => {
    if (withinMs !== undefined) timer = setTimeout(() => resolve('timeout'), withinMs)
  })
  try {
    const outcome = await Promise.race([
      work().then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      deadline,
    ])
    assert.notEqual(outcome, 'timeout', `${what} did not settle within ${withinMs} ms`)
    if (outcome === 'timeout') return
    assert.ok(!outcome.ok, `${what} must reject with ${code}, but it resolved`)
    assert.ok(isGutsError(outcome.error), `${what} must reject with a GutsError ${code}, got: ${String(outcome.error)}`)
    assert.equal(outcome.error.code, code, `${what} must reject with ${code}, got ${outcome.error.code}: ${outcome.error.message}`)
  } finally {
    clearTimeout(timer)
  }
}
