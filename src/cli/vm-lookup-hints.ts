import { GutsError, isGutsError } from '@guts/sdk'

/** `--source vc-prod` or `--plan wave.yaml`, as the user gave it, quoted for a shell when needed. */
export function sourceFlagText(flags: { source?: string | undefined; plan?: string | undefined }): string {
  return flags.plan ? `--plan ${shellWord(flags.plan)}` : `--source ${shellWord(flags.source ?? '<profile>')}`
}

/**
 * The service's "no VM with that name" (GUTS_NOT_FOUND) and "several VMs with that name"
 * (GUTS_CONFLICT) errors — both carry `details.vmName` — with what to run next said in this CLI's
 * commands and flags, which the core does not know. Any other error is returned as it is.
 */
export function withVmLookupHints(error: unknown, sourceFlag: string): unknown {
  if (!isGutsError(error) || typeof error.details?.vmName !== 'string') return error
  const { details } = error
  let suggestions: string[]
  if (error.code === 'GUTS_CONFLICT') {
    const ids = Array.isArray(details.ids) ? (details.ids as string[]) : []
    suggestions = ids.slice(0, 3).map((id) => `guts vm show --id ${shellWord(id)} ${sourceFlag}`)
  } else if (error.code === 'GUTS_NOT_FOUND') {
    const close = Array.isArray(details.closeNames) ? (details.closeNames as string[]) : []
    suggestions = [
      ...(close.length ? [`Did you mean ${close.map((n) => `"${n}"`).join(', ')}? (names are case-sensitive)`] : []),
      `See every VM's exact name: guts vm list ${sourceFlag}`,
    ]
  } else return error
  return new GutsError(error.code, error.message, { suggestions, details, ...(error.ref ? { ref: error.ref } : {}) })
}

function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}
