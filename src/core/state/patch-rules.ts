import type { JsonObject } from '@guts/sdk'
import type { Lease, MigrationPatch, MigrationRecord, VmPatch, VmRecord, VmStatus } from './store.js'

/**
 * How a patch applies, the same for every StateStore backend: a field left out keeps its value,
 * `null` clears it (`error`), a VM checkpoint is shallow-merged.
 */
export function patchedMigration(cur: MigrationRecord, patch: MigrationPatch) {
  return {
    status: patch.status ?? cur.status,
    startedAt: patch.startedAt ?? cur.startedAt ?? null,
    finishedAt: patch.finishedAt ?? cur.finishedAt ?? null,
    cancelRequested: patch.cancelRequested ?? cur.cancelRequested,
    error: patch.error === undefined ? (cur.error ?? null) : patch.error,
  }
}

export function patchedVm(
  cur: VmRecord | undefined,
  patch: VmPatch,
): { status: VmStatus; stage: string | null; checkpoint: JsonObject; error: JsonObject | null } {
  return {
    status: patch.status ?? cur?.status ?? 'pending',
    stage: patch.stage ?? cur?.stage ?? null,
    checkpoint: { ...(cur?.checkpoint ?? {}), ...(patch.checkpoint ?? {}) },
    error: patch.error === undefined ? (cur?.error ?? null) : patch.error,
  }
}

/** Whether `owner` may take (or renew) a lease now: it holds it, it expired, or its holder is gone. */
export function mayTakeLease(held: Lease | undefined, owner: string, now: number, canSteal?: (lease: Lease) => boolean): boolean {
  return !held || held.owner === owner || Date.parse(held.expiresAt) <= now || (canSteal?.(held) ?? false)
}
