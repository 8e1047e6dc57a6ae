import { GutsError } from '@guts/sdk'
import type { SqliteDatabase } from './sqlite-driver.js'

/**
 * Versioned schema. Step i brings the database from version i to i+1; `PRAGMA user_version`
 * records how many steps ran. Never edit a released step: append a new one, because databases in
 * the field already ran the old text.
 */
export const SCHEMA_STEPS: readonly string[] = [
  // 1: initial layout. JSON columns are TEXT (SQLite has no JSON type; PostgreSQL will use jsonb).
  `
  CREATE TABLE migrations (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL,
    plan_path        TEXT,
    plan_text        TEXT NOT NULL,
    options          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error            TEXT
  );
  CREATE INDEX migrations_created ON migrations (created_at);

  CREATE TABLE vms (
    migration_id TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    vm_key       TEXT NOT NULL,
    status       TEXT NOT NULL,
    stage        TEXT,
    checkpoint   TEXT NOT NULL,
    error        TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (migration_id, vm_key)
  );

  -- AUTOINCREMENT: seq never reuses a deleted value, so "newest first" stays true forever.
  CREATE TABLE undo_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    vm_key       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    ref          TEXT NOT NULL,
    data         TEXT,
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
    data         TEXT NOT NULL,
    PRIMARY KEY (migration_id, seq)
  );

  CREATE TABLE leases (
    migration_id TEXT PRIMARY KEY REFERENCES migrations (id) ON DELETE CASCADE,
    owner        TEXT NOT NULL,
    expires_at   TEXT NOT NULL
  );
  `,
  // 2: API tokens of `guts serve`. Only the secret's sha256 is kept (looked up by it, hence UNIQUE).
  // role has no CHECK: SQLite cannot change one without rebuilding the table; the service validates.
  `
  CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
  );
  `,
]

export const SCHEMA_VERSION = SCHEMA_STEPS.length

/**
 * Per-connection settings (not stored in the file, except WAL). Set outside any transaction,
 * since SQLite ignores journal_mode and foreign_keys changes inside one.
 */
export function configureConnection(db: SqliteDatabase): void {
  // Wait for another guts process's write instead of failing with SQLITE_BUSY at once.
  db.exec('PRAGMA busy_timeout = 5000')
  // WAL lets `guts migration status` read while a run writes. In-memory databases stay 'memory'.
  db.exec('PRAGMA journal_mode = WAL')
  // Off by default in SQLite; cascading deletes depend on it.
  db.exec('PRAGMA foreign_keys = ON')
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.prepare('PRAGMA user_version').get<{ user_version: number }>()?.user_version ?? 0
}

/** Applies the missing steps, each in its own transaction. Safe to call repeatedly and concurrently. */
export function migrateSchema(db: SqliteDatabase): void {
  for (;;) {
    const applied = db.transaction(() => {
      // Re-read inside the write lock: another process may have just applied this step.
      const version = schemaVersion(db)
      if (version > SCHEMA_VERSION) throw newerSchemaError(version)
      const step = SCHEMA_STEPS[version]
      if (step === undefined) return false
      db.exec(step)
      // Pragmas take no bound parameters; version is an integer we computed.
      db.exec(`PRAGMA user_version = ${version + 1}`)
      return true
    })
    if (!applied) return
  }
}

function newerSchemaError(version: number): GutsError {
  return new GutsError(
    'GUTS_STATE_ERROR',
    `The state database has schema version ${version}, but this guts only knows up to ${SCHEMA_VERSION}: it was written by a newer guts.`,
    {
      suggestions: ['Upgrade guts to the version that last used this database (or newer).'],
      details: { schemaVersion: version, supportedVersion: SCHEMA_VERSION },
    },
  )
}
