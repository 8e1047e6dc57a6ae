import type { JsonObject, UndoEntry } from '@guts/sdk'

/**
 * Where migrations live between processes. SQLite (default, one host) and PostgreSQL (many hosts)
 * implement it, and both pass `test/state/state-store-suite.ts`. Secrets are never stored here:
 * plans keep their `${env:…}` references and are resolved again by whoever resumes.
 */
export type MigrationStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled' | 'rolled-back'
export type VmStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'rolled-back' | 'skipped'

export const TERMINAL_MIGRATION_STATUSES: readonly MigrationStatus[] = ['succeeded', 'failed', 'partial', 'cancelled', 'rolled-back']

export interface MigrationRecord {
  id: string
  name: string
  status: MigrationStatus
  /** Absolute path of the plan file, when it came from one. */
  planPath?: string
  /** The plan as written, with literal secrets redacted (`${env:…}` references kept). */
  planText: string
  /** Run options (keepOnFailure, …) so a resume behaves like the original run. */
  options: JsonObject
  createdAt: string
  updatedAt: string
  startedAt?: string
  finishedAt?: string
  cancelRequested: boolean
  error?: JsonObject
}

export interface NewMigration {
  id: string
  name: string
  planPath?: string
  planText: string
  options?: JsonObject
}

export interface MigrationPatch {
  status?: MigrationStatus
  startedAt?: string
  finishedAt?: string
  cancelRequested?: boolean
  error?: JsonObject | null
}

export interface VmRecord {
  migrationId: string
  /** The plan's key for the VM (its name at the source), unique within a migration. */
  vmKey: string
  status: VmStatus
  /** Last stage that completed (`discover`, `preflight`, `export`, `transfer`, `import`, `boot`, `verify`, `cleanup`). */
  stage?: string
  /** Everything the pipeline persisted for resume: descriptor, sessions, per-disk results. */
  checkpoint: JsonObject
  error?: JsonObject
  updatedAt: string
}

export interface VmPatch {
  status?: VmStatus
  stage?: string
  /** Shallow-merged into the stored checkpoint. */
  checkpoint?: JsonObject
  error?: JsonObject | null
}

export interface UndoRecord extends UndoEntry {
  seq: number
  migrationId: string
  vmKey: string
  /** Set once rollback removed it. */
  undoneAt?: string
  createdAt: string
}

export interface EventRecord {
  seq: number
  migrationId: string
  at: string
  type: string
  vmKey?: string
  data: JsonObject
}

/** A migration as lists show it: the record without its plan, its VMs' states and its lease, read in one query. */
export interface MigrationSummary extends Omit<MigrationRecord, 'planText'> {
  vms: { name: string; status: VmStatus; stage?: string }[]
  lease?: Lease
}

export interface Lease {
  owner: string
  expiresAt: string
}

/** What an API token may do: viewer reads, operator also runs and cancels migrations, admin everything. */
export type TokenRole = 'viewer' | 'operator' | 'admin'
export const TOKEN_ROLES: readonly TokenRole[] = ['viewer', 'operator', 'admin']

/** An API token of `guts serve`. Only the secret's sha256 is kept: a leaked database leaks no usable token. */
export interface TokenRecord {
  id: string
  name: string
  role: TokenRole
  /** sha256 of the secret, lower-case hex. */
  secretHash: string
  /** The first characters of the secret after `guts_`, so a list can tell tokens apart. */
  prefix: string
  createdAt: string
  lastUsedAt?: string
  revokedAt?: string
}

export type NewToken = Pick<TokenRecord, 'id' | 'name' | 'role' | 'secretHash' | 'prefix'>

export interface StateStore {
  /** Creates the schema or upgrades it (versioned migrations). Idempotent. */
  init(): Promise<void>
  createMigration(migration: NewMigration): Promise<MigrationRecord>
  getMigration(id: string): Promise<MigrationRecord | undefined>
  /** Newest first. */
  listMigrations(filter?: { status?: MigrationStatus[]; limit?: number }): Promise<MigrationRecord[]>
  /** Newest first, each with its VMs' states and its lease: one query however many migrations. */
  listMigrationSummaries(filter?: { status?: MigrationStatus[]; limit?: number }): Promise<MigrationSummary[]>
  updateMigration(id: string, patch: MigrationPatch): Promise<MigrationRecord>
  deleteMigration(id: string): Promise<void>

  upsertVm(migrationId: string, vmKey: string, patch: VmPatch): Promise<VmRecord>
  listVms(migrationId: string): Promise<VmRecord[]>

  /** Durable before it returns: the caller performs the side effect only afterwards. */
  appendUndo(migrationId: string, vmKey: string, entry: UndoEntry): Promise<UndoRecord>
  /** Newest first; `pendingOnly` leaves out entries already undone. */
  listUndo(migrationId: string, vmKey?: string, options?: { pendingOnly?: boolean }): Promise<UndoRecord[]>
  markUndone(migrationId: string, seqs: number[]): Promise<void>

  /** seq grows by one per migration, starting at 1. */
  appendEvent(migrationId: string, event: { type: string; vmKey?: string; data?: JsonObject }): Promise<EventRecord>
  readEvents(migrationId: string, afterSeq?: number, limit?: number): Promise<EventRecord[]>

  /**
   * Takes (or renews) the run lease: true when `owner` now holds it. A lease held by another owner is
   * taken only once expired, or when `canSteal(lease)` says its holder is gone (dead pid on this host).
   */
  acquireLease(migrationId: string, owner: string, ttlMs: number, canSteal?: (lease: Lease) => boolean): Promise<boolean>
  releaseLease(migrationId: string, owner: string): Promise<void>
  getLease(migrationId: string): Promise<Lease | undefined>

  createToken(token: NewToken): Promise<TokenRecord>
  /** Newest first, revoked ones included. */
  listTokens(): Promise<TokenRecord[]>
  /** Revoked ones too: the caller decides what a revoked token means. */
  getTokenByHash(secretHash: string): Promise<TokenRecord | undefined>
  /** Idempotent: revoking again keeps the first revocation time. An unknown id is GUTS_NOT_FOUND. */
  revokeToken(id: string): Promise<TokenRecord>
  /** Sets last_used_at (one UPDATE, no read); an unknown id is ignored. */
  touchToken(id: string, at: string): Promise<void>

  close(): Promise<void>
}
