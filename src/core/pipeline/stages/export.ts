import { marksFor } from '../vm-job.js'
import { powerOffSource, runWarm, type PowerOffOptions } from '../vm-warm.js'
import { isWarm, type StageContext, type VmStage } from './stage.js'

/**
 * Opens the VM's export at the source: a cold or snapshot export session, or for a warm VM the
 * whole warm phase (syncs until cutover), which ends with replicas ready to import.
 */
export const exportStage: VmStage = {
  name: 'export',
  done: (cp) => (isWarm(cp) ? Boolean(cp.warm?.cutOver) : Boolean(cp.exportSession)),
  async run(s) {
    // What a crashed run took at the source (a snapshot) but never saved goes first.
    await s.drivers.source.releaseLeftovers?.(s.job.ref, marksFor(s.job, s.migrationId), s.ctx)
    if (isWarm(s.checkpoints.current)) {
      await runWarm({
        ...powerOptions(s),
        store: s.store,
        migrationId: s.migrationId,
        checkpoints: s.checkpoints,
        drivers: s.drivers,
        exportOptions: s.exportOptions,
        diskConcurrency: s.diskConcurrency,
        idle: s.idle,
      })
      return s.checkpoints.save({}, { stage: 'export' })
    }
    const cp = s.checkpoints.current
    if (s.exportOptions.mode === 'cold' && cp.descriptor!.powerState !== 'off' && s.job.settings.powerOff !== 'refuse') {
      if (!cp.poweredOffAt) await s.checkpoints.save({ poweredOffAt: new Date().toISOString() })
      await powerOffSource(s.drivers.source, powerOptions(s), s.checkpoints.current)
    }
    await s.checkpoints.save(
      { exportSession: await s.drivers.source.beginExport(cp.descriptor!, s.exportOptions, s.ctx) },
      { stage: 'export' },
    )
  },
}

function powerOptions(s: StageContext): PowerOffOptions {
  return { ctx: s.ctx, emit: s.emit, vmKey: s.job.key, powerOff: s.job.settings.powerOff, settings: s.warm }
}
