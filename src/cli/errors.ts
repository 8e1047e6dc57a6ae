import { isGutsError, type GutsError, type GutsErrorCode } from '@guts/sdk'

const USAGE_CODES: readonly GutsErrorCode[] = ['GUTS_PLAN_INVALID', 'GUTS_USAGE', 'GUTS_CONFIG_INVALID']

/** 2 for anything the user typed or wrote wrong (plan, flags, config), 1 for everything else. */
export function exitCodeForError(error: unknown): number {
  return isGutsError(error) && USAGE_CODES.includes(error.code) ? 2 : 1
}

/** How a GutsError reads in a terminal: the message, what to try, what caused it. Never a stack. */
export function renderError(error: GutsError): string {
  const lines = [`Error [${error.code}]: ${error.message}`]
  if (error.suggestions.length) lines.push('Try this:', ...error.suggestions.map((s) => `  • ${s}`))
  const cause =
    error.cause instanceof Error && error.cause.message && !error.message.includes(error.cause.message) ? error.cause.message : undefined
  if (cause && error.code !== 'GUTS_PLAN_INVALID') lines.push(`Caused by: ${cause}`)
  return lines.join('\n')
}
