import type { MigrationRecord, MigrationSummary, VmStatus } from './store.js'

/** A summary row as both stores read it: the record, its VMs' states (NULL stage = none) and its lease, if any. */
export function migrationSummary(
  record: MigrationRecord,
  vms: { name: string; status: VmStatus; stage: string | null }[],
  lease: { owner: string | null; expiresAt: string | null },
): MigrationSummary {
  const { planText: _plan, ...m } = record
  return {
    ...m,
    vms: vms.map((v) => ({ name: v.name, status: v.status, ...(v.stage !== null ? { stage: v.stage } : {}) })),
    ...(lease.owner !== null && lease.expiresAt !== null ? { lease: { owner: lease.owner, expiresAt: lease.expiresAt } } : {}),
  }
}
