import type { JsonObject } from '@guts/sdk'
import type { WarmSettings } from '../plan/schema.js'
import type { StateStore, VmStatus } from '../state/store.js'
import { Checkpoints } from './checkpoints.js'
import { vmDriverContext, vmWorkDir } from './driver-context.js'
import type { EventListener, Stage } from './events.js'
import { runStages, type StageContext } from './stages/index.js'
import { errorJson, type VmDrivers } from './vm-drivers.js'
import { failVm } from './vm-failure.js'
import { asCheckpoint, exportOptionsFor, targetMapping, type VmCheckpoint, type VmJob } from './vm-job.js'

export interface RunVmOptions {
  store: StateStore
  migrationId: string
  job: VmJob
  drivers: VmDrivers
  signal: AbortSignal
  emit: EventListener
  workRoot: string
  diskConcurrency: number
  verify: boolean
  keepOnFailure: boolean
  /** Driver-specific destination options from the plan, handed to the destination in the mapping. */
  destinationOptions: JsonObject
  /** The plan's warm settings (sync interval, cutover time), used when the VM's mode is warm. */
  warm: WarmSettings
  /** Runs `fn` without holding the VM's concurrency slots (a warm VM waiting for its next sync). */
  idle?: <T>(fn: () => Promise<T>) => Promise<T>
}

/**
 * Runs one VM through its stages (stages/index.ts: discover → preflight → export → transfer →
 * boot → verify → cleanup). Each stage is skipped when its checkpoint exists, so a resumed VM
 * continues where it stopped; a failure rolls back what the VM created unless told to keep it.
 */
export async function runVm(o: RunVmOptions): Promise<VmStatus> {
  const { store, migrationId, job, emit } = o
  const vm = job.key
  const stored = await readCheckpoint(o)
  if (!stored.ok) return stored.status
  const checkpoints = new Checkpoints(store, migrationId, vm, stored.checkpoint)
  const ctx = await vmDriverContext({
    store,
    migrationId,
    vmKey: vm,
    workDir: vmWorkDir(o.workRoot, migrationId, vm),
    signal: o.signal,
    emit,
  })
  const s: StageContext = {
    store,
    migrationId,
    job,
    drivers: o.drivers,
    ctx,
    checkpoints,
    emit,
    mapping: targetMapping(job, migrationId, o.destinationOptions),
    exportOptions: exportOptionsFor(job, migrationId),
    diskConcurrency: o.diskConcurrency,
    verify: o.verify,
    warm: o.warm,
    idle: o.idle ?? ((fn) => fn()),
  }
  let current: Stage = 'discover'
  const started = Date.now()
  try {
    await store.upsertVm(migrationId, vm, { status: 'running', error: null })
    await checkpoints.save({ job })
    await runStages(s, (name) => (current = name))
    emit({ type: 'vm.succeeded', vm, instance: checkpoints.current.instance!, seconds: (Date.now() - started) / 1000 })
    return 'succeeded'
  } catch (error) {
    return failVm({ ...s, signal: o.signal, keepOnFailure: o.keepOnFailure }, error, current)
  }
}

/**
 * The VM's stored checkpoint, validated. A record that does not parse stops this VM before any
 * driver call (nothing is rolled back on the strength of a record guts cannot read).
 */
async function readCheckpoint(o: RunVmOptions): Promise<{ ok: true; checkpoint: VmCheckpoint } | { ok: false; status: VmStatus }> {
  const record = (await o.store.listVms(o.migrationId)).find((v) => v.vmKey === o.job.key)
  try {
    return { ok: true, checkpoint: asCheckpoint(record?.checkpoint ?? {}, o.job.key) }
  } catch (error) {
    const err = errorJson(error)
    await o.store.upsertVm(o.migrationId, o.job.key, { status: 'failed', error: err })
    o.emit({ type: 'vm.failed', vm: o.job.key, error: err, rolledBack: false, stage: 'discover' })
    return { ok: false, status: 'failed' }
  }
}

export type { VmDrivers }
