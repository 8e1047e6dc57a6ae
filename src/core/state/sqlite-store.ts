import { GutsError, type JsonObject, type UndoEntry } from '@guts/sdk'
import type { SqliteDatabase } from './sqlite-driver.js'
import { mayTakeLease, patchedMigration, patchedVm } from './patch-rules.js'
import { configureConnection, migrateSchema } from './sqlite-schema.js'
import * as tokens from './sqlite-tokens.js'
import {
  toEvent,
  toMigration,
  toSummary,
  toUndo,
  toVm,
  type EventRow,
  type LeaseRow,
  type MigrationRow,
  type SummaryRow,
  type VmRow,
  type UndoRow,
} from './sqlite-rows.js'
import type {
  EventRecord,
  Lease,
  MigrationPatch,
  MigrationRecord,
  MigrationStatus,
  MigrationSummary,
  NewMigration,
  NewToken,
  StateStore,
  TokenRecord,
  UndoRecord,
  VmPatch,
  VmRecord,
} from './store.js'

const now = (): string => new Date().toISOString()
/**
 * WHERE clause and parameters (the LIMIT last) of a migrations listing: an empty status list matches
 * nothing rather than everything; LIMIT -1 is SQLite for "no limit".
 */
function listFilter(filter: { status?: MigrationStatus[]; limit?: number }, table: string): { where: string; params: (string | number)[] } {
  const status = filter.status
  const where = status ? `WHERE ${table}.status IN (${status.map(() => '?').join(', ') || 'NULL'})` : ''
  return { where, params: [...(status ?? []), filter.limit ?? -1] }
}

const json = (value: JsonObject | undefined | null): string | null => (value == null ? null : JSON.stringify(value))

/**
 * StateStore on SQLite. The driver calls are synchronous; the methods are async only to share the
 * interface with the PostgreSQL store. Every read-modify-write runs in one IMMEDIATE transaction,
 * so several guts processes on one host can share the file.
 */
export class SqliteStateStore implements StateStore {
  constructor(private readonly db: SqliteDatabase) {
    configureConnection(db)
  }

  async init(): Promise<void> {
    migrateSchema(this.db)
  }

  async createMigration(m: NewMigration): Promise<MigrationRecord> {
    return this.db.transaction(() => {
      if (this.exists(m.id)) {
        throw new GutsError('GUTS_CONFLICT', `A migration with id ${m.id} already exists.`, { ref: m.id })
      }
      const at = now()
      this.db
        .prepare(
          `INSERT INTO migrations (id, name, status, plan_path, plan_text, options, created_at, updated_at, cancel_requested)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, 0)`,
        )
        .run(m.id, m.name, m.planPath ?? null, m.planText, JSON.stringify(m.options ?? {}), at, at)
      return this.mustGetMigration(m.id)
    })
  }

  async getMigration(id: string): Promise<MigrationRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM migrations WHERE id = ?').get<MigrationRow>(id)
    return row && toMigration(row)
  }

  async listMigrations(filter: { status?: MigrationStatus[]; limit?: number } = {}): Promise<MigrationRecord[]> {
    const { where, params } = listFilter(filter, 'migrations')
    // rowid breaks ties between rows created in the same millisecond.
    const rows = this.db
      .prepare(`SELECT * FROM migrations ${where} ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all<MigrationRow>(...params)
    return rows.map(toMigration)
  }

  async listMigrationSummaries(filter: { status?: MigrationStatus[]; limit?: number } = {}): Promise<MigrationSummary[]> {
    const { where, params } = listFilter(filter, 'm')
    // One statement: the VMs come back as a JSON array per migration, the lease by a join.
    const rows = this.db
      .prepare(
        `SELECT m.*, l.owner AS lease_owner, l.expires_at AS lease_expires_at,
           (SELECT json_group_array(json_object('name', v.vm_key, 'status', v.status, 'stage', v.stage))
              FROM (SELECT * FROM vms WHERE migration_id = m.id ORDER BY vm_key) v) AS vm_states
         FROM migrations m LEFT JOIN leases l ON l.migration_id = m.id
         ${where} ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?`,
      )
      .all<SummaryRow>(...params)
    return rows.map(toSummary)
  }

  async updateMigration(id: string, patch: MigrationPatch): Promise<MigrationRecord> {
    return this.db.transaction(() => {
      const next = patchedMigration(this.mustGetMigration(id), patch)
      this.db
        .prepare(
          `UPDATE migrations SET status = ?, started_at = ?, finished_at = ?, cancel_requested = ?, error = ?, updated_at = ?
           WHERE id = ?`,
        )
        .run(next.status, next.startedAt, next.finishedAt, next.cancelRequested ? 1 : 0, json(next.error), now(), id)
      return this.mustGetMigration(id)
    })
  }

  async deleteMigration(id: string): Promise<void> {
    // vms, undo_log, events and leases go with it (ON DELETE CASCADE).
    this.db.prepare('DELETE FROM migrations WHERE id = ?').run(id)
  }

  async upsertVm(migrationId: string, vmKey: string, patch: VmPatch): Promise<VmRecord> {
    return this.db.transaction(() => {
      this.mustExist(migrationId)
      const { status, stage, checkpoint, error } = patchedVm(this.getVm(migrationId, vmKey), patch)
      this.db
        .prepare(
          `INSERT INTO vms (migration_id, vm_key, status, stage, checkpoint, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (migration_id, vm_key) DO UPDATE SET
             status = excluded.status, stage = excluded.stage, checkpoint = excluded.checkpoint,
             error = excluded.error, updated_at = excluded.updated_at`,
        )
        .run(migrationId, vmKey, status, stage, JSON.stringify(checkpoint), json(error), now())
      const vm = this.getVm(migrationId, vmKey)
      if (!vm) throw new GutsError('GUTS_STATE_ERROR', `VM ${vmKey} vanished while it was being written.`)
      return vm
    })
  }

  async listVms(migrationId: string): Promise<VmRecord[]> {
    // rowid: the order the plan first reported them in.
    const rows = this.db.prepare('SELECT * FROM vms WHERE migration_id = ? ORDER BY rowid').all<VmRow>(migrationId)
    return rows.map(toVm)
  }

  async appendUndo(migrationId: string, vmKey: string, entry: UndoEntry): Promise<UndoRecord> {
    return this.db.transaction(() => {
      this.mustExist(migrationId)
      const createdAt = now()
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO undo_log (migration_id, vm_key, kind, ref, data, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(migrationId, vmKey, entry.kind, entry.ref, json(entry.data), createdAt)
      return toUndo({
        seq: Number(lastInsertRowid),
        migration_id: migrationId,
        vm_key: vmKey,
        kind: entry.kind,
        ref: entry.ref,
        data: json(entry.data),
        created_at: createdAt,
        undone_at: null,
      })
    })
  }

  async listUndo(migrationId: string, vmKey?: string, options: { pendingOnly?: boolean } = {}): Promise<UndoRecord[]> {
    const params: string[] = [migrationId]
    let where = 'migration_id = ?'
    if (vmKey !== undefined) {
      where += ' AND vm_key = ?'
      params.push(vmKey)
    }
    if (options.pendingOnly) where += ' AND undone_at IS NULL'
    // Newest first: rollback undoes side effects in reverse order of creation.
    const rows = this.db.prepare(`SELECT * FROM undo_log WHERE ${where} ORDER BY seq DESC`).all<UndoRow>(...params)
    return rows.map(toUndo)
  }

  async markUndone(migrationId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return
    const at = now()
    this.db.transaction(() => {
      // Keep the first undone time: a retried rollback must not rewrite history.
      const stmt = this.db.prepare('UPDATE undo_log SET undone_at = ? WHERE migration_id = ? AND seq = ? AND undone_at IS NULL')
      for (const seq of seqs) stmt.run(at, migrationId, seq)
    })
  }

  async appendEvent(migrationId: string, event: { type: string; vmKey?: string; data?: JsonObject }): Promise<EventRecord> {
    return this.db.transaction(() => {
      this.mustExist(migrationId)
      // Under the IMMEDIATE lock no other writer can take the same number.
      const last = this.db.prepare('SELECT MAX(seq) AS seq FROM events WHERE migration_id = ?').get<{ seq: number | null }>(migrationId)
      const record: EventRecord = {
        seq: (last?.seq ?? 0) + 1,
        migrationId,
        at: now(),
        type: event.type,
        ...(event.vmKey !== undefined ? { vmKey: event.vmKey } : {}),
        data: event.data ?? {},
      }
      this.db
        .prepare('INSERT INTO events (migration_id, seq, at, type, vm_key, data) VALUES (?, ?, ?, ?, ?, ?)')
        .run(migrationId, record.seq, record.at, record.type, event.vmKey ?? null, JSON.stringify(record.data))
      return record
    })
  }

  async readEvents(migrationId: string, afterSeq = 0, limit?: number): Promise<EventRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM events WHERE migration_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all<EventRow>(migrationId, afterSeq, limit ?? -1)
    return rows.map(toEvent)
  }

  async acquireLease(migrationId: string, owner: string, ttlMs: number, canSteal?: (lease: Lease) => boolean): Promise<boolean> {
    return this.db.transaction(() => {
      this.mustExist(migrationId)
      const t = Date.now()
      const expiresAt = new Date(t + ttlMs).toISOString()
      const held = this.readLease(migrationId)
      if (!mayTakeLease(held, owner, t, canSteal)) return false
      if (!held) {
        this.db.prepare('INSERT INTO leases (migration_id, owner, expires_at) VALUES (?, ?, ?)').run(migrationId, owner, expiresAt)
        return true
      }
      this.db.prepare('UPDATE leases SET owner = ?, expires_at = ? WHERE migration_id = ?').run(owner, expiresAt, migrationId)
      return true
    })
  }

  async releaseLease(migrationId: string, owner: string): Promise<void> {
    // Only the holder may release: a process that lost its lease must not free someone else's.
    this.db.prepare('DELETE FROM leases WHERE migration_id = ? AND owner = ?').run(migrationId, owner)
  }

  async getLease(migrationId: string): Promise<Lease | undefined> {
    return this.readLease(migrationId)
  }

  async createToken(t: NewToken): Promise<TokenRecord> {
    return tokens.insertToken(this.db, t, now())
  }

  async listTokens(): Promise<TokenRecord[]> {
    return tokens.selectTokens(this.db)
  }

  async getTokenByHash(secretHash: string): Promise<TokenRecord | undefined> {
    return tokens.selectTokenByHash(this.db, secretHash)
  }

  async revokeToken(id: string): Promise<TokenRecord> {
    return tokens.revokeTokenRow(this.db, id, now())
  }

  async touchToken(id: string, at: string): Promise<void> {
    tokens.touchTokenRow(this.db, id, at)
  }

  async close(): Promise<void> {
    this.db.close()
  }

  private readLease(migrationId: string): Lease | undefined {
    const row = this.db.prepare('SELECT owner, expires_at FROM leases WHERE migration_id = ?').get<LeaseRow>(migrationId)
    return row && { owner: row.owner, expiresAt: row.expires_at }
  }

  private getVm(migrationId: string, vmKey: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE migration_id = ? AND vm_key = ?').get<VmRow>(migrationId, vmKey)
    return row && toVm(row)
  }

  private mustGetMigration(id: string): MigrationRecord {
    const row = this.db.prepare('SELECT * FROM migrations WHERE id = ?').get<MigrationRow>(id)
    if (!row) throw notFound(id)
    return toMigration(row)
  }

  /** Writes under an unknown migration say so, instead of surfacing a foreign-key failure. */
  private mustExist(id: string): void {
    if (!this.exists(id)) throw notFound(id)
  }

  private exists(id: string): boolean {
    return this.db.prepare('SELECT 1 AS ok FROM migrations WHERE id = ?').get<{ ok: number }>(id) !== undefined
  }
}

function notFound(id: string): GutsError {
  return new GutsError('GUTS_NOT_FOUND', `No migration with id ${id}.`, {
    ref: id,
    suggestions: ['List migrations with `guts migration list`.'],
  })
}
