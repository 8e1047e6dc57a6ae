import { rm } from 'node:fs/promises'
import { isGutsError, type DriverContext, type Outcome, type UndoEntry } from '@guts/sdk'
import type { StateStore } from '../state/store.js'
import type { EventListener } from './events.js'
import { marksFor, type VmCheckpoint } from './vm-job.js'
import type { VmDrivers } from './vm-drivers.js'

/** Rollback must finish even after Ctrl-C, but not hang forever on a dead endpoint. */
const ROLLBACK_TIMEOUT_MS = 10 * 60_000

/**
 * Undoes what a failed or cancelled VM created: the destination deletes exactly the entries of the
 * undo log not yet undone (newest first), the source releases its export (snapshots, leases).
 * Idempotent, so a crashed rollback is simply run again.
 */
export async function rollbackVm(o: {
  store: StateStore
  migrationId: string
  vmKey: string
  checkpoint: VmCheckpoint
  drivers: VmDrivers
  ctx: DriverContext
  outcome: Outcome
  emit: EventListener
  /** Resources found by their marks (`findLeftovers`), deleted along with the pending undo entries. */
  leftovers?: readonly UndoEntry[]
}): Promise<boolean> {
  const ctx: DriverContext = { ...o.ctx, signal: AbortSignal.timeout(ROLLBACK_TIMEOUT_MS) }
  o.emit({ type: 'vm.rollback', vm: o.vmKey, state: 'started' })
  try {
    const pending = await o.store.listUndo(o.migrationId, o.vmKey, { pendingOnly: true })
    const entries = mergeUndo(
      o.leftovers ?? [],
      pending.map(({ kind, ref, data }) => ({ kind, ref, ...(data ? { data } : {}) })),
    )
    if (entries.length || o.checkpoint.importSession) {
      await o.drivers.destination.rollback(o.checkpoint.importSession, entries, ctx)
      await o.store.markUndone(
        o.migrationId,
        pending.map((p) => p.seq),
      )
    }
    if (o.checkpoint.exportSession) await o.drivers.source.endExport(o.checkpoint.exportSession, o.outcome, ctx)
    // Snapshots a crashed run took but never saved in a session are found by the migration's marks;
    // a warm VM's last change ids go too (state a source keeps per id, such as Hyper-V reference points).
    if (o.drivers.source.releaseLeftovers && o.checkpoint.job) {
      const changeIds = o.checkpoint.warm?.changeIds
      await o.drivers.source.releaseLeftovers(
        o.checkpoint.job.ref,
        marksFor(o.checkpoint.job, o.migrationId),
        ctx,
        changeIds ? { changeIds } : undefined,
      )
    }
    await rm(o.ctx.workDir, { recursive: true, force: true })
    o.emit({ type: 'vm.rollback', vm: o.vmKey, state: 'done' })
    return true
  } catch (error) {
    const message = isGutsError(error) || error instanceof Error ? error.message : String(error)
    o.emit({
      type: 'vm.rollback',
      vm: o.vmKey,
      state: 'failed',
      message: `${message} — run \`guts migration cleanup ${o.migrationId}\` to retry`,
    })
    return false
  }
}

/**
 * Leftovers first, in the driver's order: they are what actually exists, listed in an order the
 * driver can delete (servers before the volumes they hold). Recorded entries follow, minus those
 * naming the same resource (kind + ref); a recorded entry that was never created is a no-op.
 */
export function mergeUndo(leftovers: readonly UndoEntry[], recorded: readonly UndoEntry[]): UndoEntry[] {
  const seen = new Set<string>()
  const out: UndoEntry[] = []
  for (const e of [...leftovers, ...recorded]) {
    const key = `${e.kind}\u0000${e.ref}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(e)
  }
  return out
}
