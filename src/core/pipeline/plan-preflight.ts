import {
  GutsError,
  type DestinationDriver,
  type Finding,
  type JsonObject,
  type PlannedVm,
  type SourceDriver,
  type VmDescriptor,
} from '@guts/sdk'
import type { StateStore, VmStatus } from '../state/store.js'
import { storeCheckpoint } from './checkpoints.js'
import { eventLogger, vmDriverContext, vmWorkDir } from './driver-context.js'
import type { EventListener } from './events.js'
import { errorJson } from './vm-drivers.js'
import { asCheckpoint, targetMapping, type VmJob } from './vm-job.js'

/**
 * The destination's whole-plan check (`preflightPlan`), run once before any VM exports: quotas each
 * VM fits alone can be too small for all of them together, and finding that out after half the
 * VMs landed leaves a half-migrated plan. Every VM is described first (the descriptor is saved to
 * its checkpoint, so its own discover stage is then skipped). VMs that already began importing
 * are left out: what they created is already counted in the destination's usage.
 *
 * Returns the statuses of the VMs it failed: all of them when the check found an error, none
 * otherwise. A VM that cannot be described is left to its own discover stage to fail and report.
 */
export async function preflightWholePlan(o: {
  store: StateStore
  migrationId: string
  jobs: readonly VmJob[]
  drivers: { source: SourceDriver; destination: DestinationDriver }
  signal: AbortSignal
  emit: EventListener
  workRoot: string
  destinationOptions: JsonObject
}): Promise<Record<string, VmStatus>> {
  const { store, migrationId, drivers, emit } = o
  if (!drivers.destination.preflightPlan || !o.jobs.length || o.signal.aborted) return {}
  const records = new Map((await store.listVms(migrationId)).map((v) => [v.vmKey, asCheckpoint(v.checkpoint, v.vmKey)]))
  const planned: (PlannedVm & { key: string })[] = []
  for (const job of o.jobs) {
    const cp = records.get(job.key) ?? {}
    if (cp.importSession) continue
    const ctx = await vmDriverContext({
      store,
      migrationId,
      vmKey: job.key,
      workDir: vmWorkDir(o.workRoot, migrationId, job.key),
      signal: o.signal,
      emit,
    })
    let vm: VmDescriptor | undefined = cp.descriptor
    if (!vm) {
      try {
        vm = await drivers.source.describeVm(job.ref, ctx)
      } catch {
        continue
      }
      await storeCheckpoint(store, migrationId, job.key, { descriptor: vm })
    }
    planned.push({ key: job.key, vm, mapping: targetMapping(job, migrationId, o.destinationOptions) })
  }
  if (!planned.length) return {}

  // Not one VM's call: no VM work directory, and nothing may be created, so no undo log either.
  const ctx = {
    signal: o.signal,
    log: eventLogger(emit),
    workDir: o.workRoot,
    recordUndo: async () => {
      throw new GutsError('GUTS_DRIVER_ERROR', 'preflightPlan must not create anything')
    },
  }
  let findings: Finding[]
  try {
    findings = await drivers.destination.preflightPlan(
      planned.map(({ vm, mapping }) => ({ vm, mapping })),
      ctx,
    )
  } catch (error) {
    // Cancelled: each VM's run then records itself as cancelled. A failed check fails them all.
    if (o.signal.aborted) return {}
    return failAll(o, error)
  }
  for (const f of findings) for (const p of concerned(f, planned)) emit({ type: 'vm.finding', vm: p.key, finding: f })
  const errors = findings.filter((f) => f.severity === 'error')
  if (!errors.length) return {}

  // One error fails every VM: the plan as a whole does not fit, whichever VM would land first.
  return failAll(
    o,
    new GutsError('GUTS_PREFLIGHT_FAILED', `The plan does not fit the destination: ${errors.map((e) => e.message).join('; ')}`, {
      details: { findings: errors.map((e) => ({ ...e })) },
      suggestions: ['Raise the quotas, or migrate fewer VMs at once (split the plan).'],
    }),
  )
}

async function failAll(
  o: { store: StateStore; migrationId: string; jobs: readonly VmJob[]; emit: EventListener },
  error: unknown,
): Promise<Record<string, VmStatus>> {
  const { store, migrationId, emit } = o
  const statuses: Record<string, VmStatus> = {}
  for (const job of o.jobs) {
    await store.upsertVm(migrationId, job.key, { status: 'failed', error: errorJson(error) })
    emit({ type: 'vm.failed', vm: job.key, error: errorJson(error), rolledBack: false, stage: 'preflight' })
    statuses[job.key] = 'failed'
  }
  return statuses
}

/** The VMs a finding's `ref` names (comma-separated names or keys); all of them when it names none. */
function concerned<T extends { key: string; vm: VmDescriptor }>(f: Finding, planned: readonly T[]): readonly T[] {
  const refs = new Set((f.ref ?? '').split(/,\s*/))
  const named = planned.filter((p) => refs.has(p.key) || refs.has(p.vm.name))
  return named.length ? named : planned
}
