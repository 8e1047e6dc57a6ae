import { GutsError, type DestinationDriver, type DriverContext, type UndoEntry } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'
import { isLive } from '../lease.js'
import type { MigrationRecord, StateStore, VmRecord } from '../state/store.js'
import { ROLLED_BACK, storeCheckpoint } from './checkpoints.js'
import { eventLogger, vmDriverContext, vmWorkDir } from './driver-context.js'
import type { EventListener } from './events.js'
import type { ResolvedEndpoints } from './run-migration.js'
import { asCheckpoint, targetMapping, type VmCheckpoint } from './vm-job.js'
import { rollbackVm } from './vm-rollback.js'

/**
 * `guts migration cleanup`: rolls back every VM of a migration that did not succeed and still has
 * something recorded (pending undo entries, an open export or import) or, when the destination can
 * search by marks (`findLeftovers`), something carrying its marks — leftovers of a run that was
 * killed, kept with --keep-on-failure, or whose undo entries were lost. Refuses while the
 * migration is running.
 */
export async function cleanupMigration(o: {
  store: StateStore
  registry: DriverRegistry
  migration: MigrationRecord
  resolved: ResolvedEndpoints
  workRoot: string
  emit: EventListener
}): Promise<{ cleaned: string[]; failed: string[] }> {
  const { store, migration } = o
  if (await isLive(store, migration.id)) {
    throw new GutsError(
      'GUTS_CONFLICT',
      `Migration ${migration.id.slice(0, 8)} is running (${(await store.getLease(migration.id))?.owner ?? 'another process'}); cancel it first.`,
    )
  }
  const vms = (await store.listVms(migration.id)).filter((v) => v.status !== 'succeeded')
  const cleaned: string[] = []
  const failed: string[] = []
  if (!vms.length) return { cleaned, failed }

  const { plan } = o.resolved
  const source = await o.registry.createSource(plan.source.driver!, o.resolved.sourceOptions)
  const destination = await o.registry.createDestination(plan.destination.driver!, o.resolved.destinationOptions)
  const signal = AbortSignal.timeout(10 * 60_000)
  try {
    const base = { signal, log: eventLogger(o.emit), workDir: o.workRoot, recordUndo: async () => undefined }
    const todo = await vmsToClean({ store, migrationId: migration.id, vms, destination, ctx: base })
    if (!todo.length) return { cleaned, failed }
    // The source is needed only to release exports; a VM with none must not depend on it being up.
    const needSource = todo.some((t) => t.cp.exportSession) || Boolean(source.releaseLeftovers && source.capabilities.liveExport)
    await Promise.all([destination.connect(base), needSource ? source.connect(base) : undefined])
    for (const { v, cp, leftovers } of todo) {
      const ctx = await vmDriverContext({
        store,
        migrationId: migration.id,
        vmKey: v.vmKey,
        workDir: vmWorkDir(o.workRoot, migration.id, v.vmKey),
        signal,
        emit: o.emit,
      })
      const ok = await rollbackVm({
        store,
        migrationId: migration.id,
        vmKey: v.vmKey,
        checkpoint: cp,
        drivers: { source, destination },
        ctx,
        outcome: 'failed',
        emit: o.emit,
        leftovers,
      })
      if (ok) {
        await storeCheckpoint(store, migration.id, v.vmKey, ROLLED_BACK, { status: 'rolled-back', stage: 'discover' })
        cleaned.push(v.vmKey)
      } else failed.push(v.vmKey)
    }
  } finally {
    await Promise.allSettled([source.dispose(), destination.dispose()])
  }
  if (!failed.length && migration.status !== 'succeeded') {
    const stillRunnable = (await store.listVms(migration.id)).some((v) => v.status === 'succeeded')
    await store.updateMigration(migration.id, { status: stillRunnable ? 'partial' : 'rolled-back' })
  }
  return { cleaned, failed }
}

interface CleanupTodo {
  v: VmRecord
  cp: VmCheckpoint
  leftovers: UndoEntry[]
}

/**
 * The VMs with something to undo. Leftovers are asked for by the VM's marks (the same tags the
 * mapping gave the destination), so resources whose undo entries were never written are found too.
 */
async function vmsToClean(o: {
  store: StateStore
  migrationId: string
  vms: VmRecord[]
  destination: DestinationDriver
  ctx: DriverContext
}): Promise<CleanupTodo[]> {
  const todo: CleanupTodo[] = []
  let connected = false
  for (const v of o.vms) {
    const cp = asCheckpoint(v.checkpoint, v.vmKey)
    const pending = await o.store.listUndo(o.migrationId, v.vmKey, { pendingOnly: true })
    let leftovers: UndoEntry[] = []
    if (o.destination.findLeftovers && cp.job) {
      if (!connected) await o.destination.connect(o.ctx)
      connected = true
      leftovers = await o.destination.findLeftovers(targetMapping(cp.job, o.migrationId, {}).tags, o.ctx)
    }
    // Past preflight, a VM may hold a source snapshot no session recorded (found by its marks) or warm replicas.
    if (leftovers.length || pending.length || cp.exportSession || cp.importSession || cp.warm || cp.preflight)
      todo.push({ v, cp, leftovers })
  }
  return todo
}
