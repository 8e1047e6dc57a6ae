import type { JsonObject } from '@guts/sdk'
import { migrationSummary } from './summary.js'
import type { EventRecord, MigrationRecord, MigrationStatus, MigrationSummary, UndoRecord, VmRecord, VmStatus } from './store.js'

/**
 * Row shapes of the SQLite tables (snake_case, JSON as TEXT, NULL for absent) and their mapping to
 * the store's records. Absent optional fields are left out rather than set to undefined, so
 * records compare equal however they were produced.
 */
export interface MigrationRow {
  id: string
  name: string
  status: string
  plan_path: string | null
  plan_text: string
  options: string
  created_at: string
  updated_at: string
  started_at: string | null
  finished_at: string | null
  cancel_requested: number
  error: string | null
}
export interface VmRow {
  migration_id: string
  vm_key: string
  status: string
  stage: string | null
  checkpoint: string
  error: string | null
  updated_at: string
}
export interface UndoRow {
  seq: number
  migration_id: string
  vm_key: string
  kind: string
  ref: string
  data: string | null
  created_at: string
  undone_at: string | null
}
export interface EventRow {
  migration_id: string
  seq: number
  at: string
  type: string
  vm_key: string | null
  data: string
}
export interface LeaseRow {
  owner: string
  expires_at: string
}

const parse = (text: string): JsonObject => JSON.parse(text) as JsonObject

export function toMigration(r: MigrationRow): MigrationRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status as MigrationStatus,
    ...(r.plan_path !== null ? { planPath: r.plan_path } : {}),
    planText: r.plan_text,
    options: parse(r.options),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
    ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
    cancelRequested: r.cancel_requested !== 0,
    ...(r.error !== null ? { error: parse(r.error) } : {}),
  }
}

export interface SummaryRow extends MigrationRow {
  lease_owner: string | null
  lease_expires_at: string | null
  vm_states: string
}

export function toSummary(r: SummaryRow): MigrationSummary {
  const vms = JSON.parse(r.vm_states) as { name: string; status: VmStatus; stage: string | null }[]
  return migrationSummary(toMigration(r), vms, { owner: r.lease_owner, expiresAt: r.lease_expires_at })
}

export function toVm(r: VmRow): VmRecord {
  return {
    migrationId: r.migration_id,
    vmKey: r.vm_key,
    status: r.status as VmStatus,
    ...(r.stage !== null ? { stage: r.stage } : {}),
    checkpoint: parse(r.checkpoint),
    ...(r.error !== null ? { error: parse(r.error) } : {}),
    updatedAt: r.updated_at,
  }
}

export function toUndo(r: UndoRow): UndoRecord {
  return {
    seq: r.seq,
    migrationId: r.migration_id,
    vmKey: r.vm_key,
    kind: r.kind,
    ref: r.ref,
    ...(r.data !== null ? { data: parse(r.data) } : {}),
    createdAt: r.created_at,
    ...(r.undone_at !== null ? { undoneAt: r.undone_at } : {}),
  }
}

export function toEvent(r: EventRow): EventRecord {
  return {
    seq: r.seq,
    migrationId: r.migration_id,
    at: r.at,
    type: r.type,
    ...(r.vm_key !== null ? { vmKey: r.vm_key } : {}),
    data: parse(r.data),
  }
}
