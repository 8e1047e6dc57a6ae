import { GutsError } from '@guts/sdk'
import type { Stage } from '../events.js'
import { boot } from './boot.js'
import { cleanup } from './cleanup.js'
import { discover } from './discover.js'
import { exportStage } from './export.js'
import { preflight } from './preflight.js'
import type { StageContext, VmStage } from './stage.js'
import { transfer } from './transfer.js'
import { verify } from './verify.js'

/** A VM's stages in order; each names itself, so the list is the pipeline (and events.ts STAGES). */
export const VM_STAGES: readonly VmStage[] = [discover, preflight, exportStage, transfer, boot, verify, cleanup]

/**
 * Runs the stages in order: a stage whose checkpoint says it is done is reported as skipped,
 * the others as started then done. `onStage` learns the current one, for failure reports.
 */
export async function runStages(s: StageContext, onStage: (name: Stage) => void, stages: readonly VmStage[] = VM_STAGES): Promise<void> {
  const vm = s.job.key
  for (const stage of stages) {
    onStage(stage.name)
    if (stage.done(s.checkpoints.current)) {
      s.emit({ type: 'vm.stage', vm, stage: stage.name, state: 'skipped' })
      continue
    }
    if (s.ctx.signal.aborted) throw new GutsError('GUTS_ABORTED', 'Aborted: the migration was cancelled')
    s.emit({ type: 'vm.stage', vm, stage: stage.name, state: 'started' })
    await stage.run(s)
    s.emit({ type: 'vm.stage', vm, stage: stage.name, state: 'done' })
  }
}

export type { StageContext, VmStage }
