import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { GutsError } from '@guts/sdk'
import { dataDir as defaultDataDir } from './data-dir.js'
import { openSqliteDatabase } from './sqlite-driver.js'
import { SqliteStateStore } from './sqlite-store.js'
import type { StateStore } from './store.js'

export interface OpenStateStoreOptions {
  /** Directory holding `guts.db`. Defaults to {@link defaultDataDir}. Ignored when `url` is set. */
  dataDir?: string
  /**
   * `sqlite::memory:` (tests), `sqlite:<path>` (a specific file), or `postgres://…` (multi-host).
   * Unset: the SQLite file in the data directory.
   */
  url?: string
}

/** Opens the configured store and brings its schema up to date; the caller must `close()` it. */
export async function openStateStore(options: OpenStateStoreOptions = {}): Promise<StateStore> {
  const store = await openUninitialised(options)
  try {
    await store.init()
  } catch (e) {
    await store.close()
    throw e
  }
  return store
}

async function openUninitialised({ dataDir, url }: OpenStateStoreOptions): Promise<StateStore> {
  if (url === undefined) return openSqliteFile(join(ensureDir(dataDir ?? defaultDataDir()), 'guts.db'))
  if (url === 'sqlite::memory:') return new SqliteStateStore(await openSqliteDatabase(':memory:'))
  if (url.startsWith('sqlite:')) return openSqliteFile(url.slice('sqlite:'.length))
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url)
  throw new GutsError('GUTS_CONFIG_INVALID', `Unknown state store URL ${redact(url)}.`, {
    suggestions: ['Use sqlite::memory:, sqlite:<path> or postgres://…, or leave it unset.'],
  })
}

/**
 * `postgres://user:password@host:port/db?schema=guts&sslmode=require`: guts keeps its tables in a
 * PostgreSQL schema of their own (`schema`, default `guts`), so it can share a database. Loaded
 * lazily: single-host users never load the driver.
 */
async function openPostgres(url: string): Promise<StateStore> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new GutsError('GUTS_CONFIG_INVALID', `The state store URL ${redact(url)} is not a valid URL.`)
  }
  const schema = parsed.searchParams.get('schema') ?? 'guts'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new GutsError('GUTS_CONFIG_INVALID', `schema=${schema} in the state store URL: use lower-case letters, digits and _.`)
  parsed.searchParams.delete('schema')
  const [{ default: postgres }, { PgStateStore }] = await Promise.all([import('postgres'), import('./pg-store.js')])
  const sql = postgres(parsed.toString(), {
    max: 4,
    idle_timeout: 30,
    connect_timeout: 15,
    onnotice: () => undefined,
    connection: { search_path: schema, application_name: 'guts' },
  })
  return new PgStateStore(sql, schema)
}

async function openSqliteFile(path: string): Promise<StateStore> {
  try {
    return new SqliteStateStore(await openSqliteDatabase(path))
  } catch (cause) {
    throw new GutsError('GUTS_STATE_ERROR', `Could not open the state database at ${path}.`, {
      cause,
      suggestions: ['Check that the directory exists and is writable, or set GUTS_DATA_DIR.'],
    })
  }
}

function ensureDir(dir: string): string {
  // 0700: plans and checkpoints name hosts and users even though secrets are never stored.
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

/** URLs may carry a password (postgres://user:pw@host); never echo it. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
