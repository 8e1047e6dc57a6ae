import { GutsError, type JsonObject, type SourceDriver } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import type { Plan } from '../plan/schema.js'
import type { MigrationStatus, StateStore, VmStatus } from '../state/store.js'
import { storeCheckpoint } from './checkpoints.js'
import { eventLogger } from './driver-context.js'
import type { EventListener } from './events.js'
import { expandVms } from './expand-vms.js'
import { preflightWholePlan } from './plan-preflight.js'
import { runVm } from './run-vm.js'
import { errorJson } from './vm-drivers.js'
import { HeldSlots, KeyedSemaphore, Semaphore } from './semaphore.js'
import { asCheckpoint, type VmJob } from './vm-job.js'

export interface ResolvedEndpoints {
  plan: Plan
  sourceOptions: Record<string, unknown>
  destinationOptions: Record<string, unknown>
}

export interface ExecuteOptions {
  store: StateStore
  registry: DriverRegistry
  migrationId: string
  resolved: ResolvedEndpoints
  signal: AbortSignal
  emit: EventListener
  workRoot: string
  keepOnFailure: boolean
  /** Only these VM keys (retry of failed VMs); default: every VM not yet succeeded. */
  only?: string[]
}

export interface ExecuteResult {
  status: MigrationStatus
  vms: Record<string, VmStatus>
}

/**
 * Runs (or resumes) every VM of a migration: connects both drivers, expands the plan's VM selection
 * once (persisted, so a resume migrates the same VMs), then runs VMs under `policy.concurrency` and
 * `policy.perHost`. VMs that already succeeded are skipped. Before any VM starts, the destination
 * may check the plan as a whole (`preflightPlan`); an error there fails every VM.
 */
export async function executeMigration(o: ExecuteOptions): Promise<ExecuteResult> {
  const { store, migrationId, resolved, emit } = o
  const { plan } = resolved
  const baseCtx = {
    signal: o.signal,
    log: eventLogger(emit),
    workDir: o.workRoot,
    recordUndo: async () => {
      throw new GutsError('GUTS_DRIVER_ERROR', 'recordUndo is only available inside a VM stage')
    },
  }
  const source = await o.registry.createSource(plan.source.driver!, resolved.sourceOptions)
  const destination = await o.registry.createDestination(plan.destination.driver!, resolved.destinationOptions)
  const statuses: Record<string, VmStatus> = {}
  try {
    await Promise.all([source.connect(baseCtx), destination.connect(baseCtx)])
    const jobs = await jobsFor(o, source, baseCtx, statuses)
    emit({
      type: 'migration.vms',
      vms: await Promise.all(jobs.map(async (j) => ({ key: j.key, disks: await knownDisks(store, migrationId, j.key) }))),
    })
    const refused = await preflightWholePlan({
      store,
      migrationId,
      jobs,
      drivers: { source, destination },
      signal: o.signal,
      emit,
      workRoot: o.workRoot,
      destinationOptions: resolved.destinationOptions as JsonObject,
    })
    Object.assign(statuses, refused)
    // A plan that does not fit as a whole migrates nothing: no VM starts.
    const runnable = jobs.filter((j) => !refused[j.key])
    const pool = new Semaphore(plan.policy.concurrency)
    const perHost = new KeyedSemaphore(plan.policy.perHost)
    await Promise.all(
      runnable.map(async (job) => {
        const slots = new HeldSlots([() => pool.acquire(), () => perHost.acquire(job.host)])
        await slots.take()
        try {
          statuses[job.key] = o.signal.aborted
            ? await markCancelled(store, migrationId, job.key)
            : await runVm({
                store,
                migrationId,
                job,
                drivers: { source, destination },
                signal: o.signal,
                emit,
                workRoot: o.workRoot,
                diskConcurrency: plan.policy.diskConcurrency,
                verify: plan.policy.verify,
                keepOnFailure: o.keepOnFailure,
                destinationOptions: resolved.destinationOptions as JsonObject,
                warm: plan.warm,
                idle: (fn) => slots.idle(fn),
              })
        } finally {
          slots.release()
        }
      }),
    )
  } finally {
    await Promise.allSettled([source.dispose(), destination.dispose()])
  }
  return { status: overall(Object.values(statuses), o.signal.aborted), vms: statuses }
}

// --- internal ---

async function jobsFor(
  o: ExecuteOptions,
  source: SourceDriver,
  ctx: Parameters<SourceDriver['listVms']>[1],
  statuses: Record<string, VmStatus>,
): Promise<VmJob[]> {
  const existing = await o.store.listVms(o.migrationId)
  let jobs: VmJob[]
  if (existing.length) {
    // A resume migrates exactly the VMs the first run selected, even if the inventory changed since.
    jobs = existing.map((v) => asCheckpoint(v.checkpoint, v.vmKey).job).filter((j): j is VmJob => Boolean(j))
    for (const v of existing) if (v.status === 'succeeded') statuses[v.vmKey] = 'succeeded'
    jobs = jobs.filter((j) => statuses[j.key] !== 'succeeded' && (!o.only || o.only.includes(j.key)))
  } else {
    const { jobs: found, missing } = await expandVms(o.resolved.plan, source, ctx)
    for (const m of missing) {
      await o.store.upsertVm(o.migrationId, m.key, { status: 'failed', error: errorJson(m.error) })
      o.emit({ type: 'vm.failed', vm: m.key, error: errorJson(m.error), rolledBack: false, stage: 'discover' })
      statuses[m.key] = 'failed'
    }
    for (const job of found) await storeCheckpoint(o.store, o.migrationId, job.key, { job }, { status: 'pending' })
    jobs = found
  }
  return jobs
}

async function knownDisks(store: StateStore, migrationId: string, key: string) {
  const rec = (await store.listVms(migrationId)).find((v) => v.vmKey === key)
  const disks = asCheckpoint(rec?.checkpoint ?? {}, key).descriptor?.disks ?? []
  return disks.map((d) => ({ id: d.id, virtualSize: d.virtualSize }))
}

async function markCancelled(store: StateStore, migrationId: string, key: string): Promise<VmStatus> {
  await store.upsertVm(migrationId, key, { status: 'cancelled' })
  return 'cancelled'
}

function overall(statuses: VmStatus[], aborted: boolean): MigrationStatus {
  if (aborted) return 'cancelled'
  const ok = statuses.filter((s) => s === 'succeeded').length
  if (ok === statuses.length) return 'succeeded'
  return ok === 0 ? 'failed' : 'partial'
}
