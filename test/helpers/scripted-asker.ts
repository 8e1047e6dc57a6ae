import type { Asker } from '../../src/cli/prompts.js'

/** One expected question and its answer; `undefined` takes the question's default. */
export type Step = [RegExp, string | boolean | string[] | undefined]

/**
 * An Asker that answers a fixed script in order and fails on any question the script does not
 * expect next, so a test also proves which questions a wizard asks (and which it does not).
 */
export function scriptedAsker(script: Step[]): Asker & { said: string[]; asked: string[]; remaining: () => number } {
  const steps = [...script]
  const said: string[] = []
  const asked: string[] = []
  const next = (message: string) => {
    asked.push(message)
    const step = steps.shift()
    if (!step || !step[0].test(message))
      throw new Error(`unexpected question "${message}"; the script expected ${step ? step[0] : 'no more questions'}`)
    return step[1]
  }
  const pick = <T>(message: string, choices: { name: string; value: T }[], dflt?: T): T => {
    const answer = next(message)
    if (answer === undefined) return dflt ?? choices[0]!.value
    const hit = choices.find((c) => c.value === answer || c.name === answer || (typeof answer === 'string' && c.name.includes(answer)))
    if (!hit) throw new Error(`"${answer}" is not a choice of "${message}": ${choices.map((c) => c.name).join(', ')}`)
    return hit.value
  }
  return {
    said,
    asked,
    remaining: () => steps.length,
    say: (line) => void said.push(line),
    text: async (o) => {
      const a = next(o.message)
      const value = a === undefined ? (o.default ?? '') : String(a)
      const valid = o.validate?.(value) ?? true
      if (valid !== true) throw new Error(`"${value}" rejected by "${o.message}": ${valid}`)
      return value
    },
    secret: async (o) => String(next(o.message) ?? ''),
    confirm: async (o) => {
      const a = next(o.message)
      return a === undefined ? o.default : Boolean(a)
    },
    select: async (o) => pick(o.message, o.choices, o.default),
    checkbox: async (o) => {
      const a = next(o.message)
      const names = Array.isArray(a) ? a : [String(a)]
      return o.choices.filter((c) => names.some((n) => c.name.startsWith(n))).map((c) => c.value)
    },
  }
}
