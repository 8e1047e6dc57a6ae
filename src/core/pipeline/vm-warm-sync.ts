import { join } from 'node:path'
import {
  GutsError,
  isGutsError,
  type DiskDescriptor,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Extent,
} from '@guts/sdk'
import { applyExtents } from '../transfer/apply-extents.js'
import { transferDisk } from '../transfer/transfer-disk.js'
import type { EventListener } from './events.js'
import { forEachLimited } from './semaphore.js'
import type { VmDrivers } from './vm-drivers.js'
import type { Checkpoints } from './checkpoints.js'
import type { WarmState } from './vm-job.js'

export interface SyncOptions {
  vmKey: string
  /** The VM's checkpoint; a sync saves its open export session there while it runs. */
  checkpoints: Checkpoints
  drivers: VmDrivers
  ctx: DriverContext
  exportOptions: ExportOptions
  diskConcurrency: number
  emit: EventListener
}

/**
 * One sync of a warm VM: a snapshot export with change tracking, every disk brought up to date in
 * its raw replica, the export released. The first sync copies whole disks; later ones copy only
 * the extents changed since the previous sync's change ids. The new change ids are saved only
 * after every disk is done, so an interrupted sync is simply repeated from the same point. `last`:
 * the final sync (also a full one of a VM already off for cutover).
 */
export async function syncWarmVm(o: SyncOptions, kind: 'full' | 'delta' | 'final', last = kind === 'final'): Promise<WarmState> {
  const { drivers, ctx } = o
  const cp = o.checkpoints.current
  const vm = cp.descriptor!
  const started = Date.now()
  // The last sync says so: the source keeps nothing for a later one (Hyper-V's reference points).
  const session = await drivers.source.beginExport(vm, last ? { ...o.exportOptions, finalSync: true } : o.exportOptions, ctx)
  await o.checkpoints.save({ exportSession: session })
  let outcome: 'succeeded' | 'failed' = 'failed'
  try {
    const changeIds = changeIdsOf(session, vm.disks)
    const replicas = cp.warm?.replicas ?? Object.fromEntries(vm.disks.map((d) => [d.id, join(ctx.workDir, `${safe(d.id)}.replica.raw`)]))
    let bytesChanged = 0
    let bytesMoved = 0
    await forEachLimited(vm.disks, o.diskConcurrency, async (disk) => {
      const r =
        kind === 'full' ? await fullCopy(o, session, disk, replicas[disk.id]!) : await deltaCopy(o, session, disk, replicas[disk.id]!)
      bytesChanged += r.bytesChanged
      bytesMoved += r.bytesMoved
    })
    outcome = 'succeeded'
    const syncs = (cp.warm?.syncs ?? 0) + 1
    o.emit({ type: 'vm.sync', vm: o.vmKey, sync: syncs, kind, bytesChanged, bytesMoved, seconds: (Date.now() - started) / 1000 })
    return { replicas, changeIds, syncs, lastSyncAt: new Date().toISOString(), ...(kind === 'final' ? { cutOver: true } : {}) }
  } finally {
    // The snapshot must go whatever happened; a failure to remove it must not hide the sync's own error.
    await drivers.source.endExport(session, outcome, ctx).then(
      () => o.checkpoints.save({ exportSession: null }),
      (error: unknown) => {
        if (outcome === 'succeeded') throw error
        ctx.log.warn(`could not release the export after a failed sync: ${(error as Error).message}`)
      },
    )
  }
}

async function fullCopy(o: SyncOptions, session: ExportSession, disk: DiskDescriptor, replica: string) {
  const source = await o.drivers.source.openDisk(session, disk.id, o.ctx)
  try {
    if (source.format !== 'raw')
      throw new GutsError('GUTS_UNSUPPORTED', `Warm migration needs raw source disks; ${disk.id} is ${source.format}.`)
    const r = await transferDisk({
      disk,
      source,
      target: { kind: 'file', format: 'raw', path: replica },
      workDir: o.ctx.workDir,
      signal: o.ctx.signal,
      onProgress: (bytes, total) => o.emit({ type: 'disk.progress', vm: o.vmKey, disk: disk.id, bytes, total }),
    })
    return { bytesChanged: r.bytesWritten, bytesMoved: r.bytesWritten }
  } finally {
    await source.close?.()
  }
}

async function deltaCopy(o: SyncOptions, session: ExportSession, disk: DiskDescriptor, replica: string) {
  const since = o.checkpoints.current.warm?.changeIds[disk.id]
  if (!since)
    throw new GutsError(
      'GUTS_STATE_ERROR',
      `${o.vmKey} ${disk.id}: no change id from the previous sync; run a new migration for a fresh full sync.`,
    )
  const extents: Extent[] = []
  try {
    for await (const e of o.drivers.source.changedExtents!(session, disk.id, since, o.ctx)) extents.push(e)
  } catch (error) {
    if (!(isGutsError(error) && error.details?.changeTrackingReset === true)) throw error
    // The source lost track of changes since the last sync: only a whole copy is safe.
    o.ctx.log.warn(`${disk.id}: change tracking was reset at the source; copying the whole disk again`)
    return fullCopy(o, session, disk, replica)
  }
  const source = await o.drivers.source.openDisk(session, disk.id, o.ctx)
  try {
    const r = await applyExtents(source, extents, replica, o.ctx.signal)
    if (r.method === 'full-stream') o.ctx.log.warn(`${disk.id}: the source offers no random access, so this delta sync read the whole disk`)
    return r
  } finally {
    await source.close?.()
  }
}

function changeIdsOf(session: ExportSession, disks: readonly DiskDescriptor[]): Record<string, string> {
  const ids = session.changeIds ?? {}
  const missing = disks.filter((d) => !ids[d.id])
  if (missing.length) {
    throw new GutsError(
      'GUTS_DRIVER_ERROR',
      `The source gave no change id for ${missing.map((d) => d.id).join(', ')}: change tracking is not active on those disks.`,
      {
        suggestions: ['Check that the VM supports changed block tracking (no independent or physical RDM disks) and run again.'],
      },
    )
  }
  return ids
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_')
}
