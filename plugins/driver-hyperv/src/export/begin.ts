import { GutsError, type ExportOptions, type Logger, type VmDescriptor } from '@guts/sdk'
import { z } from 'zod'
import { diskId, stateName } from '../describe.js'
import { DriveSchema, parseHostAnswer, VHD_FORMAT, VM_STATE, type HostDrive } from '../host-model.js'
import { CHECKPOINT_EXPORT, COLD_EXPORT } from '../scripts/export.js'
import type { PowerShellRunner } from '../transport/powershell.js'
import { checkpointName, endCheckpoint } from './checkpoints.js'
import type { SessionData } from './session.js'

const ColdAnswer = z.object({ State: z.number().int(), Drives: z.array(DriveSchema) })
const CheckpointAnswer = ColdAnswer.extend({ CheckpointId: z.string(), CheckpointName: z.string() })

export interface ExportDeps {
  ps: PowerShellRunner
  host: string
  log: Logger
  signal?: AbortSignal
}

/** Cold: the VM is off (the core powered it off); the files of its drives as they are now. */
export async function beginCold(vm: VmDescriptor, d: ExportDeps): Promise<SessionData> {
  const r = parseHostAnswer(
    ColdAnswer,
    await d.ps.run({ op: 'cold-export', body: COLD_EXPORT, args: { id: vm.id } }, d.signal),
    d.host,
    'cold-export',
  )
  if (r.State !== VM_STATE.Off) {
    throw new GutsError(
      'GUTS_CONFLICT',
      `${vm.name} is ${stateName(r.State)} on ${d.host}: a cold export needs it off (it was started again?).`,
      {
        ref: vm.name,
        suggestions: ['Shut it down, or migrate it with mode: snapshot.'],
      },
    )
  }
  return { host: d.host, disks: exportDisks(vm, r.Drives) }
}

/**
 * Snapshot: Checkpoint-VM (production or standard, as the VM's checkpoint type says), marked for
 * the migration; the disks are the files the checkpoint froze, read while the VM runs on.
 */
export async function beginCheckpoint(vm: VmDescriptor, options: ExportOptions, d: ExportDeps): Promise<SessionData> {
  const name = checkpointName(options.marks)
  const raw = await d.ps.run({ op: 'checkpoint', body: CHECKPOINT_EXPORT, args: { id: vm.id, name } }, d.signal)
  const r = parseHostAnswer(CheckpointAnswer, raw, d.host, 'checkpoint')
  const checkpoint = { id: r.CheckpointId, name: r.CheckpointName }
  d.log.info(`${vm.name}: checkpoint "${r.CheckpointName}" taken`, { vm: vm.id, checkpoint: r.CheckpointId })
  try {
    return { host: d.host, disks: exportDisks(vm, r.Drives), checkpoint }
  } catch (e) {
    // A frozen disk that cannot be read: the checkpoint must not outlive the failed export.
    await endCheckpoint(vm, checkpoint, d).catch((x: unknown) =>
      d.log.warn(`${vm.name}: could not remove checkpoint "${checkpoint.name}": ${(x as Error).message}`, { vm: vm.id }),
    )
    throw e
  }
}

/** The export's disks, keyed like the descriptor's; every described disk must be there with its chain. */
export function exportDisks(vm: VmDescriptor, drives: HostDrive[]): SessionData['disks'] {
  const byId = new Map(drives.map((dr) => [diskId(dr), dr]))
  const out: SessionData['disks'] = {}
  for (const disk of vm.disks) {
    const dr = byId.get(disk.id)
    const chain = dr?.Chain ?? []
    const ref = `${vm.name} disk ${disk.id}`
    if (!dr) throw new GutsError('GUTS_NOT_FOUND', `${vm.name} no longer has a disk at ${disk.id}: describe it again.`, { ref })
    if (chain.length === 0) {
      const why = dr.ChainError || 'Get-VHD returned nothing'
      throw new GutsError('GUTS_DRIVER_ERROR', `The virtual disk of ${vm.name} at ${disk.id} cannot be read on the host: ${why}`, { ref })
    }
    out[disk.id] = {
      chain: chain.map((f) => f.Path),
      virtualSize: chain[0]!.Size,
      format: chain[0]!.VhdFormat === VHD_FORMAT.VHD ? 'vpc' : 'vhdx',
    }
  }
  return out
}
