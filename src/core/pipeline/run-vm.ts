import { rm } from 'node:fs/promises'
import { GutsError, isGutsError, type DestinationDriver, type DriverContext, type Finding, type JsonObject, type SourceDriver } from '@guts/sdk'
import type { StateStore, VmStatus } from '../state/store.js'
import { vmDriverContext, vmWorkDir } from './driver-context.js'
import type { EventListener, Stage } from './events.js'
import { rollbackVm } from './vm-rollback.js'
import { transferDisks } from './vm-transfer.js'
import { compareDisks } from './vm-verify.js'
import { asCheckpoint, exportOptionsFor, marksFor, targetMapping, toJson, type VmCheckpoint, type VmJob } from './vm-job.js'
import { modeFindings } from './mode-findings.js'
import { replicaSpaceFindings } from './replica-space.js'
import { powerOffSource, replicaSource, runWarm } from './vm-warm.js'
import type { WarmSettings } from '../plan/schema.js'

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
  /** The plan's warm settings (sync interval, cutover time), used when the VM's mode is warm. */
  warm: WarmSettings
  /** Runs `fn` without holding the VM's concurrency slots (a warm VM waiting for its next sync). */
  idle?: <T>(fn: () => Promise<T>) => Promise<T>
}

/** A VM "null" checkpoint: what a rolled-back VM keeps (its job and descriptor), so a retry starts clean. */
const RESET: JsonObject = { preflight: null, exportSession: null, importSession: null, disks: null, instance: null, verify: null, warm: null, poweredOffAt: null, downtime: null }

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
  /** A checkpoint patch within a stage; `null` clears a key. */
  const patch = async (p: { [K in keyof VmCheckpoint]?: VmCheckpoint[K] | null }) => {
    cp = { ...cp, ...p } as VmCheckpoint
    await store.upsertVm(migrationId, vm, { checkpoint: toJson(p) })
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
    const exportOptions = exportOptionsFor(job, migrationId)
    const warm = job.settings.mode === 'warm'
    await stage('preflight', Boolean(cp.preflight), async () => {
      const findings = [
        ...modeFindings(job, cp.descriptor!, drivers.source.capabilities),
        ...(warm ? await replicaSpaceFindings(cp.descriptor!, ctx.workDir) : []),
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
    const power = { ctx, emit, vmKey: vm, powerOff: job.settings.powerOff, settings: o.warm }
    await stage('export', warm ? Boolean(cp.warm?.cutOver) : Boolean(cp.exportSession), async () => {
      // What a crashed run took at the source (a snapshot) but never saved goes first.
      await drivers.source.releaseLeftovers?.(job.ref, marksFor(job, migrationId), ctx)
      if (warm) {
        await runWarm({ ...power, store, migrationId, checkpoint: cp, drivers, exportOptions, diskConcurrency: o.diskConcurrency, save: patch, idle: o.idle ?? ((fn) => fn()) })
        return save('export', {})
      }
      if (exportOptions.mode === 'cold' && cp.descriptor!.powerState !== 'off' && job.settings.powerOff !== 'refuse') {
        if (!cp.poweredOffAt) await patch({ poweredOffAt: new Date().toISOString() })
        await powerOffSource(drivers.source, power, cp)
      }
      await save('export', { exportSession: await drivers.source.beginExport(cp.descriptor!, exportOptions, ctx) })
    })
    // A cut-over warm VM imports from its replicas, like a cold VM from its export.
    const moving: VmDrivers = warm && cp.warm ? { source: replicaSource(drivers.source, cp.warm, cp.descriptor!), destination: drivers.destination } : drivers
    await stage('transfer', allCommitted(cp), async () => {
      if (!cp.importSession) {
        cp = { ...cp, importSession: await drivers.destination.beginImport(cp.descriptor!, mapping, ctx) }
        await store.upsertVm(migrationId, vm, { checkpoint: toJson({ importSession: cp.importSession }) })
      }
      await transferDisks({
        vmKey: vm, checkpoint: cp, drivers: moving, ctx, diskConcurrency: o.diskConcurrency, emit,
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
      if (cp.poweredOffAt && !cp.downtime) {
        const runningAt = new Date().toISOString()
        const downtime = { seconds: (Date.parse(runningAt) - Date.parse(cp.poweredOffAt)) / 1000, poweredOffAt: cp.poweredOffAt, runningAt }
        await patch({ downtime })
        emit({ type: 'vm.downtime', vm, ...downtime })
      }
    })
    await stage('verify', Boolean(cp.verify), async () => {
      const findings = [
        ...(await drivers.destination.verify(cp.importSession!, cp.instance!, ctx)),
        ...(o.verify ? await compareDisks(cp, moving, ctx) : []),
      ]
      report(findings)
      const errors = findings.filter((f) => f.severity === 'error')
      if (errors.length) throw new GutsError('GUTS_VERIFY_FAILED', `${vm}: verification failed: ${errors.map((e) => e.message).join('; ')}`)
      await save('verify', { verify: findings })
    })
    await stage('cleanup', false, async () => {
      if (cp.exportSession) await drivers.source.endExport(cp.exportSession, 'succeeded', ctx)
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
    if (cp.poweredOffAt) await restoreSource(rolledBack)
    await store.upsertVm(migrationId, vm, { status, error: err, ...(rolledBack ? { checkpoint: RESET, stage: 'discover' } : {}) })
    emit({ type: 'vm.failed', vm, error: err, rolledBack, stage: current })
    return status
  }

  /**
   * guts powered the source off (cold export, cutover) and the VM did not make it: with the
   * destination rolled back, the source is powered on again so the workload runs as before. With a
   * destination copy left (kept, or a failed rollback) it stays off: two running copies would clash.
   */
  async function restoreSource(rolledBack: boolean): Promise<void> {
    const warn = (message: string) => emit({ type: 'log', level: 'warn', vm, message })
    if (!rolledBack) return warn(`${job.ref.name} stays powered off at the source: its destination copy was kept; power it on once that copy is gone.`)
    if (!drivers.source.powerOn) return warn(`${job.ref.name} stays powered off at the source: the ${drivers.source.name} driver cannot power VMs on.`)
    try {
      await drivers.source.powerOn(job.ref, { ...ctx, signal: AbortSignal.timeout(10 * 60_000) })
      emit({ type: 'vm.poweron', vm })
    } catch (error) {
      warn(`could not power ${job.ref.name} on again at the source: ${(error as Error).message}; power it on yourself.`)
    }
  }

  /** Emits findings once each: the core and a driver may both report the same problem (same code and ref). */
  function report(findings: Finding[]) {
    const seen = new Set<string>()
    for (const f of findings) {
      const key = `${f.code}\u0000${f.ref ?? ''}`
      if (!seen.has(key)) emit({ type: 'vm.finding', vm, finding: f })
      seen.add(key)
    }
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
