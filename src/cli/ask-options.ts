import type { OptionQuestion } from '../core/service.js'
import type { Asker } from './prompts.js'

/** A driver's options as answered: what goes into the plan, and what is used to connect now. */
export interface Answers {
  written: Record<string, unknown>
  live: Record<string, unknown>
}

/**
 * Asks what is needed: the essential options (skipping those the environment supplies or an answer
 * covers), then the advanced ones only if the user wants them. Only what was given is written; a
 * secret is written as an `${env:NAME}` reference, its value used only to connect now.
 */
export async function askOptions(ask: Asker, questions: OptionQuestion[], previous?: Answers, offerAdvanced = false): Promise<Answers> {
  const out: Answers = { written: {}, live: {} }
  const covered = new Set<string>()
  const askAll = async (list: OptionQuestion[]) => {
    for (const q of list) {
      if (covered.has(q.key)) continue
      if (q.fromEnv) {
        ask.say(`${q.key}: from ${q.fromEnv} in the environment (not written to the plan)`)
        for (const key of q.covers ?? []) covered.add(key)
        continue
      }
      const answer = await askOne(ask, q, previous)
      if (!answer) continue
      out.written[q.key] = answer.written
      out.live[q.key] = answer.live
      for (const key of q.covers ?? []) covered.add(key)
    }
  }
  await askAll(questions.filter((q) => !q.advanced))
  const advanced = questions.filter((q) => q.advanced && !covered.has(q.key) && !q.fromEnv)
  if (
    advanced.length &&
    (await ask.confirm({ message: `Set advanced options (${advanced.map((q) => q.key).join(', ')})?`, default: offerAdvanced }))
  )
    await askAll(advanced)
  return out
}

async function askOne(ask: Asker, q: OptionQuestion, previous?: Answers): Promise<{ written: unknown; live: unknown } | undefined> {
  const before = previous?.live[q.key]
  switch (q.kind) {
    case 'secret': {
      const earlier = /^\$\{env:(\w+)\}$/.exec(String(previous?.written[q.key] ?? ''))?.[1]
      const name = await ask.text({
        message: `Environment variable that will hold ${q.message.split(' — ')[0]}`,
        default: earlier ?? q.envName ?? 'GUTS_SECRET',
        validate: (v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || 'a variable name',
      })
      const value =
        process.env[name] || (await ask.secret({ message: `${q.key} (used now to connect, never written; empty to leave out)` }))
      return value ? { written: `\${env:${name}}`, live: value } : undefined
    }
    case 'choice': {
      const none = '\u0000none'
      const choices = [
        ...(q.choices ?? []).map((c) => ({ name: c, value: c })),
        ...(q.required ? [] : [{ name: q.covers ? '(none: enter the settings)' : '(leave out)', value: none }]),
      ]
      const value = await ask.select({
        message: q.message,
        choices,
        default: (before as string) ?? (q.default as string) ?? choices[0]!.value,
      })
      return value === none ? undefined : { written: value, live: value }
    }
    case 'boolean': {
      const value = await ask.confirm({ message: q.message, default: (before as boolean) ?? (q.default as boolean) ?? false })
      return value === ((q.default as boolean | undefined) ?? false) ? undefined : { written: value, live: value }
    }
    default: {
      const text = await ask.text({
        message: `${q.message}${q.required ? '' : ' (optional)'}`,
        ...(before !== undefined ? { default: String(before) } : {}),
        required: q.required,
      })
      if (text === '') return undefined
      const value = q.kind === 'number' ? Number(text) : text
      return { written: value, live: value }
    }
  }
}
