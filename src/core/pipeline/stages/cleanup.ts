import { rm } from 'node:fs/promises'
import type { VmStage } from './stage.js'

/** Ends both sessions as succeeded (the source drops its snapshot), removes the work dir, marks the VM done. */
export const cleanup: VmStage = {
  name: 'cleanup',
  // Never skipped: ending the sessions is idempotent, and a VM reaching it has not succeeded yet.
  done: () => false,
  async run(s) {
    const { exportSession, importSession } = s.checkpoints.current
    if (exportSession) await s.drivers.source.endExport(exportSession, 'succeeded', s.ctx)
    await s.drivers.destination.endImport(importSession!, 'succeeded', s.ctx)
    await rm(s.ctx.workDir, { recursive: true, force: true })
    await s.store.upsertVm(s.migrationId, s.job.key, { status: 'succeeded', stage: 'cleanup' })
  },
}
