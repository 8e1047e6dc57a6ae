import type { Sql } from 'postgres'

/**
 * The PostgreSQL layout: the same tables and meaning as the SQLite store, JSON as jsonb,
 * timestamps as the same ISO-8601 text (records compare equal across backends), and `ord`
 * sequences where SQLite uses rowid for a stable order. Step i brings version i to i+1; never edit
 * a released step.
 */
const STEPS: readonly string[] = [
  `
  CREATE TABLE migrations (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL,
    plan_path        TEXT,
    plan_text        TEXT NOT NULL,
    options          JSONB NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    error            JSONB,
    ord              BIGSERIAL
  );
  CREATE INDEX migrations_created ON migrations (created_at, ord);

  CREATE TABLE vms (
    migration_id TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    vm_key       TEXT NOT NULL,
    status       TEXT NOT NULL,
    stage        TEXT,
    checkpoint   JSONB NOT NULL,
    error        JSONB,
    updated_at   TEXT NOT NULL,
    ord          BIGSERIAL,
    PRIMARY KEY (migration_id, vm_key)
  );

  CREATE TABLE undo_log (
    seq          BIGSERIAL PRIMARY KEY,
    migration_id TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    vm_key       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ref          TEXT NOT NULL,
    data         JSONB,
    created_at   TEXT NOT NULL,
    undone_at    TEXT
  );
  CREATE INDEX undo_log_migration ON undo_log (migration_id, vm_key, seq);

  CREATE TABLE events (
    migration_id TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    type         TEXT NOT NULL,
    vm_key       TEXT,
    data         JSONB NOT NULL,
    PRIMARY KEY (migration_id, seq)
  );

  CREATE TABLE leases (
    migration_id TEXT PRIMARY KEY REFERENCES migrations (id) ON DELETE CASCADE,
    owner        TEXT NOT NULL,
    expires_at   TEXT NOT NULL
  );
  `,
  // 2: API tokens of `guts serve` (as SQLite's step 2). Only the secret's sha256 is kept.
  `
  CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    ord          BIGSERIAL
  );
  `,
]

export const PG_SCHEMA_VERSION = STEPS.length

/** Any constant: the advisory lock that lets one process at a time create or upgrade the schema. */
const MIGRATE_LOCK = 0x6775_7473

/**
 * Creates the schema (a PostgreSQL schema of its own, `guts` by default) or upgrades it. Safe when
 * several guts processes on several hosts start at once: the steps run under an advisory lock.
 */
export async function migratePgSchema(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK})`
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
    await tx.unsafe(`SET LOCAL search_path TO ${quoteIdent(schema)}`)
    await tx`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`
    const [row] = await tx<{ version: number }[]>`SELECT version FROM schema_version`
    const from = row?.version ?? 0
    if (from > STEPS.length)
      throw new Error(`The state database schema is version ${from}, newer than this guts (${STEPS.length}): upgrade guts.`)
    for (let v = from; v < STEPS.length; v++) await tx.unsafe(STEPS[v]!)
    if (!row) await tx`INSERT INTO schema_version (version) VALUES (${STEPS.length})`
    else if (from < STEPS.length) await tx`UPDATE schema_version SET version = ${STEPS.length}`
  })
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain schema name: ${name}`)
  return `"${name}"`
}
