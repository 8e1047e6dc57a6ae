import { GutsError, type ExportOptions, type Extent, type VmDescriptor, type VmRef } from '@guts/sdk'
import { z } from 'zod'
import { diskId } from '../describe.js'
import { DriveSchema, parseHostAnswer, VHD_FORMAT } from '../host-model.js'
import { RCT_CHANGES, RCT_RELEASE, RCT_SYNC_BEGIN, RCT_SYNC_END } from '../scripts/rct.js'
import { checkpointName } from './checkpoints.js'
import { exportDisks, type ExportDeps } from './begin.js'
import type { SessionData } from './session.js'
import { rctFailure } from './rct-status.js'

const BeginAnswer = z.object({
  State: z.number().int(),
  Version: z.string(),
  CheckpointId: z.string(),
  CheckpointName: z.string(),
  SnapshotType: z.number().int(),
  Drives: z.array(DriveSchema),
})
const ChangesAnswer = z.object({ Status: z.number(), Call: z.string(), Message: z.string(), Ranges: z.array(z.number()) })
const EndAnswer = z.object({
  ReferencePoint: z.object({ InstanceID: z.string(), Rct: z.array(z.string()) }).nullable(),
  SnapshotsRemoved: z.number().int(),
  ReferencePointsDestroyed: z.number().int(),
})

/** What a warm sync's export adds to the session: the recovery snapshot and each disk's sealed RCT id. */
export interface WarmBegin {
  data: SessionData
  changeIds: Record<string, string>
}

/**
 * Begins one sync of a warm migration: a recovery snapshot marked for the migration, the files it
 * froze, and each disk's RCT id sealed at the freeze (the point the next sync asks changes since).
 * A disk without an id has no change tracking (a VHD file, or a VM older than configuration 6.2):
 * the snapshot is released again and the export refused, naming the disk.
 */
export async function beginWarm(vm: VmDescriptor, options: ExportOptions, d: ExportDeps): Promise<WarmBegin> {
  const name = checkpointName(options.marks)
  const raw = await d.ps.run({ op: 'rct-begin', body: RCT_SYNC_BEGIN, args: { id: vm.id, name } }, d.signal)
  const r = parseHostAnswer(BeginAnswer, raw, d.host, 'rct-begin')
  const checkpoint = { id: r.CheckpointId, name: r.CheckpointName, recovery: true, ...(options.finalSync ? { finalSync: true } : {}) }
  d.log.info(`${vm.name}: recovery snapshot "${name}" taken`, { vm: vm.id, checkpoint: r.CheckpointId })
  try {
    const disks = exportDisks(vm, r.Drives)
    const frozen = new Map(r.Drives.map((dr) => [diskId(dr), dr.Chain?.[0]]))
    const changeIds: Record<string, string> = {}
    for (const disk of vm.disks) {
      const file = frozen.get(disk.id)
      if (!file?.RctId) throw noTracking(vm, disk.id, file?.VhdFormat, r.Version)
      changeIds[disk.id] = file.RctId
    }
    return { data: { host: d.host, disks, checkpoint }, changeIds }
  } catch (e) {
    // Nothing may stay behind when the sync cannot go on.
    await endWarm(vm, checkpoint, { convert: false, release: [] }, d).catch((x: unknown) =>
      d.log.warn(`${vm.name}: could not remove recovery snapshot "${name}": ${(x as Error).message}`, { vm: vm.id }),
    )
    throw e
  }
}

/**
 * The extents of a frozen disk file changed since `since` (an RCT id of an earlier sync), as
 * QueryChangesVirtualDisk reports them: sorted, merged, clipped to the disk. An id the host no
 * longer knows (tracking reset, history dropped, a disk resized) is `details.changeTrackingReset`.
 */
export async function rctChanges(
  vm: VmRef,
  file: string,
  size: number,
  since: string,
  what: string,
  d: Omit<ExportDeps, 'log'>,
): Promise<Extent[]> {
  const raw = await d.ps.run({ op: 'rct-changes', body: RCT_CHANGES, args: { path: file, since, size } }, d.signal)
  const r = parseHostAnswer(ChangesAnswer, raw, d.host, 'rct-changes')
  if (r.Status !== 0) throw rctFailure(r.Status, r.Call, r.Message, { vm, file, since, what, host: d.host })
  return mergeRanges(r.Ranges, size)
}

/** Flat offset/length pairs → sorted, merged extents inside [0, size). */
export function mergeRanges(flat: readonly number[], size: number): Extent[] {
  const pairs: Extent[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const offset = Math.max(0, flat[i]!)
    const end = Math.min(size, flat[i]! + flat[i + 1]!)
    if (end > offset) pairs.push({ offset, length: end - offset })
  }
  pairs.sort((a, b) => a.offset - b.offset)
  const out: Extent[] = []
  for (const p of pairs) {
    const last = out.at(-1)
    if (last && p.offset <= last.offset + last.length) last.length = Math.max(last.offset + last.length, p.offset + p.length) - last.offset
    else out.push({ ...p })
  }
  return out
}

export interface EndWarmOptions {
  /** Keep the sealed ids for a later sync: convert the snapshot to a reference point. */
  convert: boolean
  /** RCT ids whose reference points this sync no longer needs (the ones it started from). */
  release: readonly string[]
  /** The ids the sync recorded at its start (Get-VHD's RctId of the frozen files), to check the reference point against. */
  sealed?: readonly string[]
}

/** Converts or removes the sync's recovery snapshot, then destroys reference points holding `release`. */
export async function endWarm(
  vm: VmRef,
  checkpoint: { id: string; name: string },
  o: EndWarmOptions,
  d: Omit<ExportDeps, 'signal'>,
): Promise<void> {
  const raw = await d.ps.run({
    op: 'rct-end',
    body: RCT_SYNC_END,
    args: { vmId: vm.id, checkpointId: checkpoint.id, convert: o.convert, release: [...o.release] },
  })
  const r = parseHostAnswer(EndAnswer, raw, d.host, 'rct-end')
  if (r.ReferencePoint) {
    d.log.info(`${vm.name}: recovery snapshot "${checkpoint.name}" kept as reference point ${r.ReferencePoint.InstanceID}`)
    // The next delta asks changes since the ids recorded at the start; a host whose reference point
    // holds others answers that query with a reset (a whole copy), never with wrong ranges. Say so.
    const held = new Set(r.ReferencePoint.Rct)
    const missing = (o.sealed ?? []).filter((id) => !held.has(id))
    if (missing.length)
      d.log.warn(
        `${vm.name}: reference point ${r.ReferencePoint.InstanceID} holds ${r.ReferencePoint.Rct.join(', ')}, not ${missing.join(', ')} (the RctId Get-VHD gave): the next sync may copy those disks whole`,
      )
  }
  if (r.SnapshotsRemoved) d.log.info(`${vm.name}: recovery snapshot "${checkpoint.name}" removed`, { vm: vm.id })
  if (r.ReferencePointsDestroyed)
    d.log.info(`${vm.name}: ${r.ReferencePointsDestroyed} earlier reference point(s) destroyed`, { vm: vm.id })
}

/** Destroys the VM's reference points that hold any of `rctIds` (rollback and cleanup of a warm migration). */
export async function releaseReferencePoints(vm: VmRef, rctIds: readonly string[], d: Omit<ExportDeps, 'signal'>): Promise<number> {
  if (!rctIds.length) return 0
  const raw = await d.ps.run({ op: 'rct-release', body: RCT_RELEASE, args: { vmId: vm.id, rctIds: [...rctIds] } })
  const r = parseHostAnswer(z.object({ Destroyed: z.number().int() }), raw, d.host, 'rct-release')
  if (r.Destroyed) d.log.info(`${vm.name}: destroyed ${r.Destroyed} reference point(s) of this migration`, { vm: vm.id })
  return r.Destroyed
}

function noTracking(vm: VmDescriptor, diskId: string, format: number | undefined, version: string): GutsError {
  const why =
    format === VHD_FORMAT.VHD
      ? 'it is a VHD file, and Resilient Change Tracking works on VHDX only (Convert-VHD it to VHDX with the VM off)'
      : Number.parseFloat(version) < 6.2
        ? `the VM's configuration version is ${version}, and Resilient Change Tracking needs 6.2 or later (Update-VMVersion, with the VM off)`
        : 'the host reports no Resilient Change Tracking id for it (is the host Windows Server 2016 or later?)'
  return new GutsError('GUTS_UNSUPPORTED', `${vm.name} disk ${diskId} cannot be synced warm: ${why}.`, {
    ref: `${vm.name} disk ${diskId}`,
    suggestions: ['Migrate this VM with mode: snapshot or cold instead.'],
  })
}
