import { GutsError, type JsonObject, type UndoEntry } from '@guts/sdk'
import type { Sql, TransactionSql } from 'postgres'
import { mayTakeLease, patchedMigration, patchedVm } from './patch-rules.js'
import { migratePgSchema } from './pg-schema.js'
import * as tokens from './pg-tokens.js'
import { migrationSummary } from './summary.js'
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
  VmStatus,
} from './store.js'

const now = (): string => new Date().toISOString()
type Q = Sql | TransactionSql

/**
 * StateStore on PostgreSQL, for guts processes on several hosts sharing migrations. Every
 * read-modify-write runs in a transaction that first locks the migration's row (`FOR UPDATE`), so
 * writers of one migration queue up (event seqs stay gap-free, checkpoints merge) while different
 * migrations never wait for each other.
 */
export class PgStateStore implements StateStore {
  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
  ) {}

  async init(): Promise<void> {
    try {
      await migratePgSchema(this.sql, this.schema)
    } catch (cause) {
      const o = this.sql.options as { host?: string[]; port?: number[]; database?: string }
      throw new GutsError(
        'GUTS_STATE_ERROR',
        `Cannot use the PostgreSQL state store ${o.host?.[0] ?? '?'}:${o.port?.[0] ?? '?'}/${o.database ?? '?'}: ${(cause as Error).message}`,
        {
          cause,
          suggestions: [
            'Check GUTS_DATABASE_URL (user, password, host, database) and that the server is up; the user needs CREATE on the database the first time.',
          ],
        },
      )
    }
  }

  async createMigration(m: NewMigration): Promise<MigrationRecord> {
    const at = now()
    const rows = await this.sql<MigrationRow[]>`
      INSERT INTO migrations (id, name, status, plan_path, plan_text, options, created_at, updated_at)
      VALUES (${m.id}, ${m.name}, 'pending', ${m.planPath ?? null}, ${m.planText}, ${this.sql.json(m.options ?? {})}, ${at}, ${at})
      ON CONFLICT (id) DO NOTHING RETURNING *`
    if (!rows[0]) throw new GutsError('GUTS_CONFLICT', `A migration with id ${m.id} already exists.`, { ref: m.id })
    return toMigration(rows[0])
  }

  async getMigration(id: string): Promise<MigrationRecord | undefined> {
    const [row] = await this.sql<MigrationRow[]>`SELECT * FROM migrations WHERE id = ${id}`
    return row && toMigration(row)
  }

  async listMigrations(filter: { status?: MigrationStatus[]; limit?: number } = {}): Promise<MigrationRecord[]> {
    if (filter.status && !filter.status.length) return []
    const where = filter.status ? this.sql`WHERE status IN ${this.sql(filter.status)}` : this.sql``
    const rows = await this.sql<
      MigrationRow[]
    >`SELECT * FROM migrations ${where} ORDER BY created_at DESC, ord DESC LIMIT ${filter.limit ?? null}`
    return rows.map(toMigration)
  }

  async listMigrationSummaries(filter: { status?: MigrationStatus[]; limit?: number } = {}): Promise<MigrationSummary[]> {
    if (filter.status && !filter.status.length) return []
    const where = filter.status ? this.sql`WHERE m.status IN ${this.sql(filter.status)}` : this.sql``
    // One statement: the VMs come back as a JSON array per migration, the lease by a join.
    const rows = await this.sql<
      (MigrationRow & {
        lease_owner: string | null
        lease_expires_at: string | null
        vm_states: { name: string; status: VmStatus; stage: string | null }[]
      })[]
    >`
      SELECT m.*, l.owner AS lease_owner, l.expires_at AS lease_expires_at,
        COALESCE((SELECT json_agg(json_build_object('name', v.vm_key, 'status', v.status, 'stage', v.stage) ORDER BY v.vm_key)
                    FROM vms v WHERE v.migration_id = m.id), '[]'::json) AS vm_states
      FROM migrations m LEFT JOIN leases l ON l.migration_id = m.id
      ${where} ORDER BY m.created_at DESC, m.ord DESC LIMIT ${filter.limit ?? null}`
    return rows.map((r) => migrationSummary(toMigration(r), r.vm_states, { owner: r.lease_owner, expiresAt: r.lease_expires_at }))
  }

  async updateMigration(id: string, patch: MigrationPatch): Promise<MigrationRecord> {
    return this.sql.begin(async (tx) => {
      const next = patchedMigration(toMigration(await lockMigration(tx, id)), patch)
      const [row] = await tx<MigrationRow[]>`
        UPDATE migrations SET status = ${next.status}, started_at = ${next.startedAt}, finished_at = ${next.finishedAt},
          cancel_requested = ${next.cancelRequested}, error = ${next.error ? tx.json(next.error) : null}, updated_at = ${now()}
        WHERE id = ${id} RETURNING *`
      return toMigration(row!)
    })
  }

  async deleteMigration(id: string): Promise<void> {
    // vms, undo_log, events and leases go with it (ON DELETE CASCADE).
    await this.sql`DELETE FROM migrations WHERE id = ${id}`
  }

  async upsertVm(migrationId: string, vmKey: string, patch: VmPatch): Promise<VmRecord> {
    return this.sql.begin(async (tx) => {
      await lockMigration(tx, migrationId)
      const [cur] = await tx<VmRow[]>`SELECT * FROM vms WHERE migration_id = ${migrationId} AND vm_key = ${vmKey}`
      const { status, stage, checkpoint, error } = patchedVm(cur && toVm(cur), patch)
      const [row] = await tx<VmRow[]>`
        INSERT INTO vms (migration_id, vm_key, status, stage, checkpoint, error, updated_at)
        VALUES (${migrationId}, ${vmKey}, ${status}, ${stage}, ${tx.json(checkpoint)}, ${error ? tx.json(error) : null}, ${now()})
        ON CONFLICT (migration_id, vm_key) DO UPDATE SET status = excluded.status, stage = excluded.stage,
          checkpoint = excluded.checkpoint, error = excluded.error, updated_at = excluded.updated_at
        RETURNING *`
      return toVm(row!)
    })
  }

  async listVms(migrationId: string): Promise<VmRecord[]> {
    return (await this.sql<VmRow[]>`SELECT * FROM vms WHERE migration_id = ${migrationId} ORDER BY ord`).map(toVm)
  }

  async appendUndo(migrationId: string, vmKey: string, entry: UndoEntry): Promise<UndoRecord> {
    return this.sql.begin(async (tx) => {
      await lockMigration(tx, migrationId, { share: true })
      const [row] = await tx<UndoRow[]>`
        INSERT INTO undo_log (migration_id, vm_key, kind, ref, data, created_at)
        VALUES (${migrationId}, ${vmKey}, ${entry.kind}, ${entry.ref}, ${entry.data ? tx.json(entry.data) : null}, ${now()})
        RETURNING *`
      return toUndo(row!)
    })
  }

  async listUndo(migrationId: string, vmKey?: string, options: { pendingOnly?: boolean } = {}): Promise<UndoRecord[]> {
    const byVm = vmKey === undefined ? this.sql`` : this.sql`AND vm_key = ${vmKey}`
    const pending = options.pendingOnly ? this.sql`AND undone_at IS NULL` : this.sql``
    // Newest first: rollback undoes side effects in reverse order of creation.
    const rows = await this.sql<UndoRow[]>`SELECT * FROM undo_log WHERE migration_id = ${migrationId} ${byVm} ${pending} ORDER BY seq DESC`
    return rows.map(toUndo)
  }

  async markUndone(migrationId: string, seqs: number[]): Promise<void> {
    if (!seqs.length) return
    // Keep the first undone time: a retried rollback must not rewrite history.
    await this
      .sql`UPDATE undo_log SET undone_at = ${now()} WHERE migration_id = ${migrationId} AND seq IN ${this.sql(seqs)} AND undone_at IS NULL`
  }

  async appendEvent(migrationId: string, event: { type: string; vmKey?: string; data?: JsonObject }): Promise<EventRecord> {
    return this.sql.begin(async (tx) => {
      // The row lock makes MAX(seq)+1 safe against every other writer of this migration.
      await lockMigration(tx, migrationId)
      const [last] = await tx<{ seq: number | null }[]>`SELECT MAX(seq) AS seq FROM events WHERE migration_id = ${migrationId}`
      const [row] = await tx<EventRow[]>`
        INSERT INTO events (migration_id, seq, at, type, vm_key, data)
        VALUES (${migrationId}, ${(last?.seq ?? 0) + 1}, ${now()}, ${event.type}, ${event.vmKey ?? null}, ${tx.json(event.data ?? {})})
        RETURNING *`
      return toEvent(row!)
    })
  }

  async readEvents(migrationId: string, afterSeq = 0, limit?: number): Promise<EventRecord[]> {
    const rows = await this.sql<
      EventRow[]
    >`SELECT * FROM events WHERE migration_id = ${migrationId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit ?? null}`
    return rows.map(toEvent)
  }

  async acquireLease(migrationId: string, owner: string, ttlMs: number, canSteal?: (lease: Lease) => boolean): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      await lockMigration(tx, migrationId)
      const t = Date.now()
      const expiresAt = new Date(t + ttlMs).toISOString()
      const [held] = await tx<LeaseRow[]>`SELECT owner, expires_at FROM leases WHERE migration_id = ${migrationId}`
      if (!mayTakeLease(held && { owner: held.owner, expiresAt: held.expires_at }, owner, t, canSteal)) return false
      await tx`INSERT INTO leases (migration_id, owner, expires_at) VALUES (${migrationId}, ${owner}, ${expiresAt})
        ON CONFLICT (migration_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`
      return true
    })
  }

  async releaseLease(migrationId: string, owner: string): Promise<void> {
    // Only the holder may release: a process that lost its lease must not free someone else's.
    await this.sql`DELETE FROM leases WHERE migration_id = ${migrationId} AND owner = ${owner}`
  }

  async getLease(migrationId: string): Promise<Lease | undefined> {
    const [row] = await this.sql<LeaseRow[]>`SELECT owner, expires_at FROM leases WHERE migration_id = ${migrationId}`
    return row && { owner: row.owner, expiresAt: row.expires_at }
  }

  async createToken(t: NewToken): Promise<TokenRecord> {
    return tokens.insertToken(this.sql, t, now())
  }

  async listTokens(): Promise<TokenRecord[]> {
    return tokens.selectTokens(this.sql)
  }

  async getTokenByHash(secretHash: string): Promise<TokenRecord | undefined> {
    return tokens.selectTokenByHash(this.sql, secretHash)
  }

  async revokeToken(id: string): Promise<TokenRecord> {
    return tokens.revokeTokenRow(this.sql, id, now())
  }

  async touchToken(id: string, at: string): Promise<void> {
    await tokens.touchTokenRow(this.sql, id, at)
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 })
  }
}

/** Locks the migration's row for this transaction (share: many may append, none may delete it). */
async function lockMigration(tx: Q, id: string, o: { share?: boolean } = {}): Promise<MigrationRow> {
  const rows = o.share
    ? await tx<MigrationRow[]>`SELECT * FROM migrations WHERE id = ${id} FOR SHARE`
    : await tx<MigrationRow[]>`SELECT * FROM migrations WHERE id = ${id} FOR UPDATE`
  if (!rows[0])
    throw new GutsError('GUTS_NOT_FOUND', `No migration with id ${id}.`, {
      ref: id,
      suggestions: ['List migrations with `guts migration list`.'],
    })
  return rows[0]
}

// --- rows (jsonb arrives parsed; BIGSERIAL arrives as a string) ---

interface MigrationRow {
  id: string
  name: string
  status: string
  plan_path: string | null
  plan_text: string
  options: JsonObject
  created_at: string
  updated_at: string
  started_at: string | null
  finished_at: string | null
  cancel_requested: boolean
  error: JsonObject | null
}
interface VmRow {
  migration_id: string
  vm_key: string
  status: string
  stage: string | null
  checkpoint: JsonObject
  error: JsonObject | null
  updated_at: string
}
interface UndoRow {
  seq: string | number
  migration_id: string
  vm_key: string
  kind: string
  ref: string
  data: JsonObject | null
  created_at: string
  undone_at: string | null
}
interface EventRow {
  migration_id: string
  seq: number
  at: string
  type: string
  vm_key: string | null
  data: JsonObject
}
interface LeaseRow {
  owner: string
  expires_at: string
}

function toMigration(r: MigrationRow): MigrationRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status as MigrationStatus,
    ...(r.plan_path !== null ? { planPath: r.plan_path } : {}),
    planText: r.plan_text,
    options: r.options,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.started_at !== null ? { startedAt: r.started_at } : {}),
    ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
    cancelRequested: r.cancel_requested,
    ...(r.error !== null ? { error: r.error } : {}),
  }
}

function toVm(r: VmRow): VmRecord {
  return {
    migrationId: r.migration_id,
    vmKey: r.vm_key,
    status: r.status as VmStatus,
    ...(r.stage !== null ? { stage: r.stage } : {}),
    checkpoint: r.checkpoint,
    ...(r.error !== null ? { error: r.error } : {}),
    updatedAt: r.updated_at,
  }
}

function toUndo(r: UndoRow): UndoRecord {
  return {
    seq: Number(r.seq),
    migrationId: r.migration_id,
    vmKey: r.vm_key,
    kind: r.kind,
    ref: r.ref,
    ...(r.data !== null ? { data: r.data } : {}),
    createdAt: r.created_at,
    ...(r.undone_at !== null ? { undoneAt: r.undone_at } : {}),
  }
}

function toEvent(r: EventRow): EventRecord {
  return {
    seq: r.seq,
    migrationId: r.migration_id,
    at: r.at,
    type: r.type,
    ...(r.vm_key !== null ? { vmKey: r.vm_key } : {}),
    data: r.data,
  }
}
