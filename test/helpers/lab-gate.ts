import { describe, it } from 'vitest'

/**
 * The one rule for lab-backed tests: when `variable` is set the real tests run; otherwise they are
 * skipped locally, but in CI (CI set) a failing test says how to start the lab — never a silent skip.
 * Returns true when the caller should register its real tests.
 */
export function labGate(o: { lab: string; variable: string; value: string | undefined; start: string }): boolean {
  if (o.value) return true
  describe(o.lab, () => {
    if (process.env.CI) {
      it(`${o.variable} names the lab`, () => {
        throw new Error(`CI is set but ${o.variable} is not: ${o.start}.`)
      })
    } else {
      it.skip(`needs ${o.variable} (${o.start})`, () => {})
    }
  })
  return false
}
