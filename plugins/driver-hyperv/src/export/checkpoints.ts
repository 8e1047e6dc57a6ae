import type { Logger, VmRef } from '@guts/sdk'
import { z } from 'zod'
import { parseHostAnswer } from '../host-model.js'
import { RELEASE_LEFTOVERS, REMOVE_CHECKPOINT } from '../scripts/export.js'
import type { PowerShellRunner } from '../transport/powershell.js'

export interface CheckpointDeps {
  ps: PowerShellRunner
  host: string
  log: Logger
}

/**
 * The checkpoint's name, the only mark Hyper-V keeps on one: `guts <migration id>`. Without marks
 * (a driver used outside a migration) a time stamp, which no cleanup will ever match.
 */
export function checkpointName(marks: Readonly<Record<string, string>> | undefined): string {
  const id = marks?.['guts-migration']
  return id ? `guts ${id}` : `guts export ${new Date().toISOString()}`
}

/**
 * Removes the export's checkpoint: Hyper-V merges its differencing disks back into the parents,
 * so the VM ends as it began, with its writes kept. No signal: cleanup must finish even after a cancel.
 */
export async function endCheckpoint(vm: VmRef, cp: { id: string; name: string }, d: CheckpointDeps): Promise<void> {
  const raw = await d.ps.run({ op: 'remove-checkpoint', body: REMOVE_CHECKPOINT, args: { vmId: vm.id, checkpointId: cp.id } })
  const r = parseHostAnswer(z.object({ Removed: z.number().int() }), raw, d.host, 'remove-checkpoint')
  if (r.Removed > 0) d.log.info(`${vm.name}: checkpoint "${cp.name}" removed`, { vm: vm.id })
}

/**
 * Removes the checkpoints a died export of this migration left on the VM: they bear its name
 * (`guts <migration id>`). Marks naming another VM (`guts-source-vm`) or no migration match nothing.
 */
export async function releaseCheckpoints(vm: VmRef, marks: Readonly<Record<string, string>>, d: CheckpointDeps): Promise<number> {
  const migration = marks['guts-migration']
  const owner = marks['guts-source-vm']
  if (!migration || (owner !== undefined && owner.toLowerCase() !== vm.id.toLowerCase())) return 0
  const raw = await d.ps.run({ op: 'release-leftovers', body: RELEASE_LEFTOVERS, args: { vmId: vm.id, name: checkpointName(marks) } })
  const r = parseHostAnswer(
    z.object({ Removed: z.number().int(), Names: z.array(z.string()).optional() }),
    raw,
    d.host,
    'release-leftovers',
  )
  if (r.Removed > 0) d.log.info(`${vm.name}: removed ${r.Removed} checkpoint(s) an earlier export left`, { vm: vm.id, names: r.Names })
  return r.Removed
}
