import { GutsError } from '@guts/sdk'

/** What a plan wizard asks through: the terminal (inquirer) in `guts plan init`, scripted answers in tests. */
export interface Asker {
  text(o: { message: string; default?: string; required?: boolean; validate?: (v: string) => true | string }): Promise<string>
  secret(o: { message: string }): Promise<string>
  select<T>(o: { message: string; choices: { name: string; value: T }[]; default?: T }): Promise<T>
  confirm(o: { message: string; default: boolean }): Promise<boolean>
  checkbox<T>(o: { message: string; choices: { name: string; value: T }[] }): Promise<T[]>
  say(line: string): void
}

/** The terminal asker; @inquirer/prompts is loaded only when a wizard runs. Ctrl-C ends it as GUTS_ABORTED. */
export async function terminalAsker(say: (line: string) => void): Promise<Asker> {
  const p = await import('@inquirer/prompts')
  const asker: Asker = {
    text: (o) =>
      p.input({
        message: o.message,
        ...(o.default !== undefined ? { default: o.default } : {}),
        ...(o.required ? { required: true } : {}),
        ...(o.validate ? { validate: o.validate } : {}),
      }),
    secret: (o) => p.password({ message: o.message, mask: true }),
    select: (o) => p.select({ message: o.message, choices: o.choices, ...(o.default !== undefined ? { default: o.default } : {}) }),
    confirm: (o) => p.confirm(o),
    checkbox: (o) => p.checkbox({ message: o.message, choices: o.choices, required: true }),
    say,
  }
  return Object.fromEntries(
    Object.entries(asker).map(([k, f]) => [k, k === 'say' ? f : cancellable(f as (o: never) => Promise<unknown>)]),
  ) as unknown as Asker
}

function cancellable<A, R>(prompt: (o: A) => Promise<R>): (o: A) => Promise<R> {
  return async (o) => {
    try {
      return await prompt(o)
    } catch (error) {
      if ((error as Error)?.name !== 'ExitPromptError') throw error
      throw new GutsError('GUTS_ABORTED', 'Cancelled: nothing was written.')
    }
  }
}
