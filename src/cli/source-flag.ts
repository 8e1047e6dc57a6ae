import { statSync } from 'node:fs'
import { GutsError, isGutsError } from '@guts/sdk'
import type { InventorySource } from '../core/service.js'
import { readPlanFile } from './read-plan.js'

/**
 * `--source <profile|plan>` / `--plan <file>` as the service's inventory source. A `--source`
 * value is a plan when it is an existing file or ends in .yaml/.yml/.json, otherwise a profile name.
 */
export async function inventorySourceOf(flags: {
  source?: string | undefined
  plan?: string | undefined
}): Promise<{ source?: InventorySource; planFile?: string }> {
  const file = flags.plan ?? (flags.source && isPlanPath(flags.source) ? flags.source : undefined)
  if (file) return { source: { plan: { text: await readPlanFile(file), file } }, planFile: file }
  return flags.source ? { source: { profile: flags.source } } : {}
}

function isPlanPath(value: string): boolean {
  if (/\.(ya?ml|json)$/i.test(value)) return true
  try {
    return statSync(value).isFile()
  } catch {
    return false
  }
}

/** What a command does with its source, for the "no source" hint: `list` (vm list) by default. */
export interface SourceUsage {
  /** Completes "Say which source …". */
  which: string
  example: string
}

const LIST_USAGE: SourceUsage = { which: 'to list', example: 'guts vm list --source vc-prod --name "app-*"' }

/** The service's "no source" error, said in this command's flags. */
export function withSourceFlagHint(error: unknown, usage: SourceUsage = LIST_USAGE): unknown {
  if (!isGutsError(error) || error.code !== 'GUTS_USAGE' || !error.details?.profiles) return error
  return new GutsError(
    'GUTS_USAGE',
    `Say which source ${usage.which}: --source <profile> (a source profile of guts.config.yaml) or --source <plan file>.`,
    {
      suggestions: [...error.suggestions, `e.g. ${usage.example}`],
      ...(error.details ? { details: error.details } : {}),
    },
  )
}
