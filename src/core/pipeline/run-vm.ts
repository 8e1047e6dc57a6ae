import { rm } from 'node:fs/promises'
import { GutsError, isGutsError, type DestinationDriver, type DriverContext, type Finding, type JsonObject, type SourceDriver } from '@guts/sdk'
import type { StateStore, VmStatus } from '../state/store.js'
import { vmDriverContext, vmWorkDir } from './driver-context.js'
import type { EventListener, Stage } from './events.js'
import { rollbackVm } from './vm-rollback.js'
import { transferDisks } from './vm-transfer.js'
import { compareDisks } from './vm-verify.js'
import { asCheckpoint, exportOptionsFor, targetMapping, toJson, type VmCheckpoint, type VmJob } from './vm-job.js'

export interface VmDrivers {
  source: SourceDriver
  destination: DestinationDriver
}

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
}

/** A VM "null" checkpoint: what a rolled-back VM keeps (its job and descriptor), so a retry starts clean. */
const RESET: JsonObject = { preflight: null, exportSession: null, importSession: null, disks: null, instance: null, verify: null }

/**
 * Runs one VM through discover → preflight → export → transfer → import → boot → verify → cleanup.
 * Each stage is skipped when its checkpoint exists, so a resumed VM continues where it stopped;
 * a failure rolls back what the VM created unless told to keep it.
 */
export async function runVm(o: RunVmOptions): Promise<VmStatus> {
  const { store, migrationId, job, drivers, emit } = o
  const vm = job.key
  const vms = await store.listVms(migrationId)
  let cp: VmCheckpoint = asCheckpoint(vms.find((v) => v.vmKey === vm)?.checkpoint ?? {})
  const ctx = await vmDriverContext({ store, migrationId, vmKey: vm, workDir: vmWorkDir(o.workRoot, migrationId, vm), signal: o.signal, emit })
  let current: Stage = 'discover'

  const save = async (stage: Stage, patch: Partial<VmCheckpoint>) => {
    cp = { ...cp, ...patch }
    await store.upsertVm(migrationId, vm, { status: 'running', stage, checkpoint: toJson(patch) })
    emit({ type: 'vm.stage', vm, stage, state: 'done' })
  }
  const stage = async (name: Stage, done: boolean, work: () => Promise<void>) => {
    current = name
    if (done) return emit({ type: 'vm.stage', vm, stage: name, state: 'skipped' })
    if (o.signal.aborted) throw new GutsError('GUTS_ABORTED', 'Aborted: the migration was cancelled')
    emit({ type: 'vm.stage', vm, stage: name, state: 'started' })
    await work()
  }

  const started = Date.now()
  try {
    await store.upsertVm(migrationId, vm, { status: 'running', error: null, checkpoint: toJson({ job }) })
    await stage('discover', Boolean(cp.descriptor), async () => {
      await save('discover', { descriptor: await drivers.source.describeVm(job.ref, ctx) })
    })
    const mapping = targetMapping(job, migrationId, o.destinationOptions)
    const exportOptions = exportOptionsFor(job)
    await stage('preflight', Boolean(cp.preflight), async () => {
      const findings = [
        ...(await drivers.source.preflight(cp.descriptor!, exportOptions, ctx)),
        ...(await drivers.destination.preflight(cp.descriptor!, mapping, ctx)),
      ]
      report(findings)
      const errors = findings.filter((f) => f.severity === 'error')
      if (errors.length) {
        throw new GutsError('GUTS_PREFLIGHT_FAILED', `${vm}: preflight found ${errors.length} problem(s): ${errors.map((e) => e.message).join('; ')}`, {
          details: { findings: errors.map((e) => ({ ...e })) },
          ref: `vms[${job.planIndex}]`,
        })
      }
      await save('preflight', { preflight: findings })
    })
    await stage('export', Boolean(cp.exportSession), async () => {
      await save('export', { exportSession: await drivers.source.beginExport(cp.descriptor!, exportOptions, ctx) })
    })
    await stage('transfer', allCommitted(cp), async () => {
      if (!cp.importSession) {
        cp = { ...cp, importSession: await drivers.destination.beginImport(cp.descriptor!, mapping, ctx) }
        await store.upsertVm(migrationId, vm, { checkpoint: toJson({ importSession: cp.importSession }) })
      }
      await transferDisks({
        vmKey: vm, checkpoint: cp, drivers, ctx, diskConcurrency: o.diskConcurrency, emit,
        saveDisk: async (disk) => {
          cp = { ...cp, disks: { ...cp.disks, [disk.diskId]: disk } }
          await store.upsertVm(migrationId, vm, { checkpoint: toJson({ disks: cp.disks }) })
        },
      })
      emit({ type: 'vm.stage', vm, stage: 'transfer', state: 'done' })
    })
    await stage('import', true, async () => undefined)
    await stage('boot', Boolean(cp.instance), async () => {
      await save('boot', { instance: await drivers.destination.boot(cp.importSession!, ctx) })
    })
    await stage('verify', Boolean(cp.verify), async () => {
      const findings = [
        ...(await drivers.destination.verify(cp.importSession!, cp.instance!, ctx)),
        ...(o.verify ? await compareDisks(cp, drivers, ctx) : []),
      ]
      report(findings)
      const errors = findings.filter((f) => f.severity === 'error')
      if (errors.length) throw new GutsError('GUTS_VERIFY_FAILED', `${vm}: verification failed: ${errors.map((e) => e.message).join('; ')}`)
      await save('verify', { verify: findings })
    })
    await stage('cleanup', false, async () => {
      await drivers.source.endExport(cp.exportSession!, 'succeeded', ctx)
      await drivers.destination.endImport(cp.importSession!, 'succeeded', ctx)
      await rm(ctx.workDir, { recursive: true, force: true })
      await store.upsertVm(migrationId, vm, { status: 'succeeded', stage: 'cleanup' })
      emit({ type: 'vm.stage', vm, stage: 'cleanup', state: 'done' })
    })
    emit({ type: 'vm.succeeded', vm, instance: cp.instance!, seconds: (Date.now() - started) / 1000 })
    return 'succeeded'
  } catch (error) {
    return fail(error)
  }

  async function fail(error: unknown): Promise<VmStatus> {
    const aborted = o.signal.aborted || (isGutsError(error) && error.code === 'GUTS_ABORTED')
    const status: VmStatus = aborted ? 'cancelled' : 'failed'
    const err = errorJson(error)
    let rolledBack = false
    if (!o.keepOnFailure) {
      rolledBack = await rollbackVm({ store, migrationId, vmKey: vm, checkpoint: cp, drivers, ctx, outcome: aborted ? 'aborted' : 'failed', emit })
    }
    await store.upsertVm(migrationId, vm, { status, error: err, ...(rolledBack ? { checkpoint: RESET, stage: 'discover' } : {}) })
    emit({ type: 'vm.failed', vm, error: err, rolledBack, stage: current })
    return status
  }

  function report(findings: Finding[]) {
    for (const f of findings) emit({ type: 'vm.finding', vm, finding: f })
  }
}

function allCommitted(cp: VmCheckpoint): boolean {
  return Boolean(cp.descriptor && cp.importSession && cp.descriptor.disks.every((d) => cp.disks?.[d.id]?.committed))
}

/** Errors as stored and reported: GutsErrors keep their code; anything else is a driver error. */
export function errorJson(error: unknown): JsonObject {
  if (isGutsError(error)) return error.toJSON() as JsonObject
  const e = error instanceof Error ? error : new Error(String(error))
  return { code: 'GUTS_DRIVER_ERROR', message: e.message }
}

export type { DriverContext }
