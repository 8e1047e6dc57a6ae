import { GutsError } from '@guts/sdk'
import type { PlanDraft } from '../core/service.js'

interface DraftFlags {
  name?: string | undefined
  source?: string | undefined
  'source-option'?: string[] | undefined
  destination?: string | undefined
  'destination-option'?: string[] | undefined
  vm?: string[] | undefined
  network?: string[] | undefined
  mode?: string | undefined
}

/** `plan init` flags as a draft; undefined when none of --source, --destination, --vm is given (ask instead). */
export function draftFromFlags(f: DraftFlags): PlanDraft | undefined {
  if (!f.source && !f.destination && !f.vm) return undefined
  if (!f.source || !f.destination || !f.vm?.length)
    throw new GutsError('GUTS_USAGE', 'Without prompts, plan init needs --source, --destination and at least one --vm.')
  return {
    name: f.name ?? 'wave-1',
    source: { driver: f.source, options: keyValues(f['source-option'], '--source-option') },
    destination: { driver: f.destination, options: keyValues(f['destination-option'], '--destination-option') },
    vms: f.vm,
    networks: Object.entries(keyValues(f.network, '--network')).map(([from, to]) => ({ from, to: String(to) })),
    ...(f.mode ? { mode: f.mode as NonNullable<PlanDraft['mode']> } : {}),
  }
}

/** `key=value` flags → options; values that look like numbers or booleans become those. */
export function keyValues(pairs: readonly string[] | undefined, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const pair of pairs ?? []) {
    const idx = pair.indexOf('=')
    if (idx <= 0) throw new GutsError('GUTS_USAGE', `${flag} expects key=value, got "${pair}"`)
    const raw = pair.slice(idx + 1)
    out[pair.slice(0, idx)] = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw
  }
  return out
}
