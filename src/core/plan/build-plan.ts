import { Document } from 'yaml'
import { missingCapabilities } from '../pipeline/mode-findings.js'

export interface PlanDraft {
  name: string
  source: { driver: string; options: Record<string, unknown> }
  destination: { driver: string; options: Record<string, unknown> }
  vms: string[]
  networks: { from: string; to: string }[]
  /** How VMs leave the source (plan `defaults.mode`); cold when absent. */
  mode?: 'cold' | 'snapshot' | 'warm'
}

/** Writes a plan as YAML, with a header that says how to check and run it. */
export function buildPlanYaml(draft: PlanDraft): string {
  const body: Record<string, unknown> = {
    version: 1,
    name: draft.name,
    source: { driver: draft.source.driver, ...draft.source.options },
    destination: { driver: draft.destination.driver, ...draft.destination.options },
    ...(draft.networks.length || draft.mode
      ? {
          defaults: {
            ...(draft.mode ? { mode: draft.mode } : {}),
            ...(draft.networks.length ? { networks: draft.networks.map((n) => ({ from: n.from, to: n.to })) } : {}),
          },
        }
      : {}),
    policy: { concurrency: 4, onFailure: 'rollback' },
    // Warm VMs sync every hour until `guts migration cutover` (or a cutoverAt added here).
    ...(draft.mode === 'warm' ? { warm: { syncInterval: '1h' } } : {}),
    vms: draft.vms.map((name) => ({ name })),
  }
  const doc = new Document(body)
  const refs = [...new Set([...JSON.stringify(body).matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]))]
  doc.commentBefore = ` Written by \`guts plan init\`. Check it with \`guts plan validate\`, run it with \`guts migrate\`.${refs.length ? `\n Secrets are \${env:NAME} references: set ${refs.join(', ')} before running.` : ''}`
  return doc.toString({ lineWidth: 0 })
}

/** Why a source with these capabilities cannot export in `mode`, or undefined when it can. */
export function modeProblem(
  caps: { liveExport?: boolean; changedBlocks?: boolean; powerControl?: boolean } | undefined,
  mode: NonNullable<PlanDraft['mode']>,
): string | undefined {
  if (!missingCapabilities(mode, caps).length) return undefined
  return mode === 'snapshot' ? 'it cannot export running VMs' : 'warm migration needs live export, changed-block tracking and power control'
}
