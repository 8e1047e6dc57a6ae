import { isGutsError } from '@guts/sdk'
import type { VmStatus } from '../state/store.js'
import { ROLLED_BACK } from './checkpoints.js'
import type { Stage } from './events.js'
import { errorJson } from './vm-drivers.js'
import type { StageContext } from './stages/stage.js'
import { rollbackVm } from './vm-rollback.js'

/** What failing a VM needs: the stage context's state and drivers, plus the run's signal and policy. */
export type FailureContext = Pick<StageContext, 'store' | 'migrationId' | 'job' | 'drivers' | 'ctx' | 'checkpoints' | 'emit'> & {
  signal: AbortSignal
  keepOnFailure: boolean
}

/**
 * A VM that failed or was cancelled at `stage`: rolls back what it created (unless told to keep
 * it), gives the source its power back when that is safe, and records the outcome.
 */
export async function failVm(f: FailureContext, error: unknown, stage: Stage): Promise<VmStatus> {
  const vm = f.job.key
  const aborted = f.signal.aborted || (isGutsError(error) && error.code === 'GUTS_ABORTED')
  const status: VmStatus = aborted ? 'cancelled' : 'failed'
  const err = errorJson(error)
  const cp = f.checkpoints.current
  let rolledBack = false
  if (!f.keepOnFailure) {
    rolledBack = await rollbackVm({
      store: f.store,
      migrationId: f.migrationId,
      vmKey: vm,
      checkpoint: cp,
      drivers: f.drivers,
      ctx: f.ctx,
      outcome: aborted ? 'aborted' : 'failed',
      emit: f.emit,
    })
  }
  if (cp.poweredOffAt) await restoreSource(f, rolledBack)
  if (rolledBack) await f.checkpoints.save(ROLLED_BACK)
  await f.store.upsertVm(f.migrationId, vm, { status, error: err, ...(rolledBack ? { stage: 'discover' } : {}) })
  f.emit({ type: 'vm.failed', vm, error: err, rolledBack, stage })
  return status
}

/**
 * guts powered the source off (cold export, cutover) and the VM did not make it: with the
 * destination rolled back, the source is powered on again so the workload runs as before. With a
 * destination copy left (kept, or a failed rollback) it stays off: two running copies would clash.
 */
async function restoreSource(f: FailureContext, rolledBack: boolean): Promise<void> {
  const { job, drivers, emit } = f
  const warn = (message: string) => emit({ type: 'log', level: 'warn', vm: job.key, message })
  if (!rolledBack)
    return warn(`${job.ref.name} stays powered off at the source: its destination copy was kept; power it on once that copy is gone.`)
  if (!drivers.source.powerOn)
    return warn(`${job.ref.name} stays powered off at the source: the ${drivers.source.name} driver cannot power VMs on.`)
  try {
    await drivers.source.powerOn(job.ref, { ...f.ctx, signal: AbortSignal.timeout(10 * 60_000) })
    emit({ type: 'vm.poweron', vm: job.key })
  } catch (error) {
    warn(`could not power ${job.ref.name} on again at the source: ${(error as Error).message}; power it on yourself.`)
  }
}
