import type { VmDrivers } from '../vm-drivers.js'
import type { VmCheckpoint } from '../vm-job.js'
import { transferDisks } from '../vm-transfer.js'
import { replicaSource } from '../vm-warm.js'
import { isWarm, type StageContext, type VmStage } from './stage.js'

/** Opens the import at the destination and moves every disk not yet committed into it. */
export const transfer: VmStage = {
  name: 'transfer',
  done: allCommitted,
  async run(s) {
    if (!s.checkpoints.current.importSession) {
      const { descriptor } = s.checkpoints.current
      await s.checkpoints.save({ importSession: await s.drivers.destination.beginImport(descriptor!, s.mapping, s.ctx) })
    }
    await transferDisks({
      vmKey: s.job.key,
      checkpoint: s.checkpoints.current,
      drivers: movingDrivers(s),
      ctx: s.ctx,
      diskConcurrency: s.diskConcurrency,
      emit: s.emit,
      // Disks commit in parallel: each save merges into the disks saved so far.
      saveDisk: (disk) => s.checkpoints.save({ disks: { ...s.checkpoints.current.disks, [disk.diskId]: disk } }),
    })
    await s.checkpoints.save({}, { stage: 'transfer' })
  },
}

/** The drivers the disks move between: a cut-over warm VM imports from its replicas, like a cold VM from its export. */
export function movingDrivers(s: StageContext): VmDrivers {
  const cp = s.checkpoints.current
  if (!isWarm(cp) || !cp.warm) return s.drivers
  return { source: replicaSource(s.drivers.source, cp.warm, cp.descriptor!), destination: s.drivers.destination }
}

function allCommitted(cp: VmCheckpoint): boolean {
  return Boolean(cp.descriptor && cp.importSession && cp.descriptor.disks.every((d) => cp.disks?.[d.id]?.committed))
}
