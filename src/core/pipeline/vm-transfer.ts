import { throwIfAborted, type DiskDescriptor, type DriverContext } from '@guts/sdk'
import { transferDisk } from '../transfer/transfer-disk.js'
import type { EventListener } from './events.js'
import { forEachLimited } from './semaphore.js'
import type { DiskCheckpoint, VmCheckpoint } from './vm-job.js'
import type { VmDrivers } from './vm-drivers.js'

const PROGRESS_EVERY_MS = 250

/**
 * The fused export → transfer → import stage: each disk is opened at the source, written to its
 * destination target and committed, up to `diskConcurrency` at once. A committed disk is
 * checkpointed and skipped on resume; an interrupted one starts over into a fresh target.
 */
export async function transferDisks(o: {
  vmKey: string
  checkpoint: VmCheckpoint
  drivers: VmDrivers
  ctx: DriverContext
  diskConcurrency: number
  emit: EventListener
  saveDisk: (disk: DiskCheckpoint) => Promise<void>
}): Promise<void> {
  const { checkpoint: cp, drivers, ctx } = o
  const disks = [...cp.descriptor!.disks].sort((a, b) => a.index - b.index)
  const todo = disks.filter((d) => !cp.disks?.[d.id]?.committed)
  await forEachLimited(todo, o.diskConcurrency, async (disk: DiskDescriptor) => {
    throwIfAborted(ctx.signal)
    const started = Date.now()
    const source = await drivers.source.openDisk(cp.exportSession!, disk.id, ctx)
    try {
      const target = await drivers.destination.openDiskTarget(cp.importSession!, disk, ctx)
      let last = 0
      const result = await transferDisk({
        disk,
        source,
        target,
        workDir: ctx.workDir,
        signal: ctx.signal,
        onProgress: (bytes, total) => {
          const now = Date.now()
          if (now - last < PROGRESS_EVERY_MS && bytes < total) return
          last = now
          o.emit({ type: 'disk.progress', vm: o.vmKey, disk: disk.id, bytes, total })
        },
      })
      await drivers.destination.commitDisk(cp.importSession!, disk, result, ctx)
      const saved: DiskCheckpoint = {
        ...result,
        committed: true,
        ...(target.kind === 'file' ? { target: { kind: 'file', path: target.path, format: target.format } } : {}),
      }
      await o.saveDisk(saved)
      o.emit({
        type: 'disk.done',
        vm: o.vmKey,
        disk: disk.id,
        route: result.route,
        virtualSize: result.virtualSize,
        bytesWritten: result.bytesWritten,
        seconds: (Date.now() - started) / 1000,
        ...(result.sha256 ? { sha256: result.sha256 } : {}),
      })
    } finally {
      await source.close?.()
    }
  })
}
