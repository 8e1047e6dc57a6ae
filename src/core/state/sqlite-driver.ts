import { isBun } from '@guts/sdk'

/**
 * A minimal synchronous SQLite surface that both `better-sqlite3` (Node) and `bun:sqlite`
 * (bun, and the single binary built with `bun build --compile`, where native Node addons cannot
 * load) provide. SqliteStateStore only talks to this, so one store class serves both runtimes.
 */
export type SqlParam = string | number | bigint | null | Uint8Array

export interface SqliteStatement {
  run(...params: SqlParam[]): { changes: number; lastInsertRowid: number | bigint }
  /** undefined when no row matched (bun returns null; the adapter hides that). */
  get<T>(...params: SqlParam[]): T | undefined
  all<T>(...params: SqlParam[]): T[]
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement
  /** Runs one or more statements without parameters (schema steps, pragmas). */
  exec(sql: string): void
  /**
   * Runs fn inside BEGIN IMMEDIATE … COMMIT (ROLLBACK when it throws). IMMEDIATE takes the write
   * lock up front, so read-then-write bodies (next event seq, lease checks) cannot deadlock against
   * another process and instead wait on busy_timeout.
   */
  transaction<T>(fn: () => T): T
  close(): void
}

/** The slice of both libraries' native objects we rely on. */
interface NativeStatement {
  run(...params: SqlParam[]): { changes: number; lastInsertRowid: number | bigint }
  get(...params: SqlParam[]): unknown
  all(...params: SqlParam[]): unknown[]
}
interface NativeDatabase {
  prepare(sql: string): NativeStatement
  exec(sql: string): unknown
  transaction<A extends unknown[], R>(fn: (...args: A) => R): { immediate(...args: A): R }
  close(): unknown
}

/** Opens `path` (or `:memory:`) with whichever SQLite binding the current runtime can load. */
export async function openSqliteDatabase(path: string): Promise<SqliteDatabase> {
  return wrap(isBun() ? await openBun(path) : await openBetterSqlite(path))
}

async function openBun(path: string): Promise<NativeDatabase> {
  // A variable specifier keeps tsc (which has no bun types) and Node's loader away from it.
  const specifier = 'bun:sqlite'
  const mod = (await import(specifier)) as { Database: new (path: string, options?: object) => NativeDatabase }
  // strict: missing/extra parameters throw instead of silently binding NULL.
  return new mod.Database(path, { create: true, readwrite: true, strict: true })
}

async function openBetterSqlite(path: string): Promise<NativeDatabase> {
  // Dynamic, and a variable so `bun build --compile` does not try to bundle the native addon.
  const specifier = 'better-sqlite3'
  const mod = (await import(specifier)) as { default: new (path: string) => NativeDatabase }
  return new mod.default(path)
}

function wrap(db: NativeDatabase): SqliteDatabase {
  // Both libraries compile a statement per prepare(); the store reuses a handful of SQL strings.
  const cache = new Map<string, SqliteStatement>()
  return {
    prepare(sql) {
      let stmt = cache.get(sql)
      if (!stmt) {
        const native = db.prepare(sql)
        stmt = {
          run: (...params) => native.run(...params),
          get: <T>(...params: SqlParam[]) => (native.get(...params) ?? undefined) as T | undefined,
          all: <T>(...params: SqlParam[]) => native.all(...params) as T[],
        }
        cache.set(sql, stmt)
      }
      return stmt
    },
    exec(sql) {
      db.exec(sql)
    },
    transaction(fn) {
      return db.transaction(fn).immediate()
    },
    close() {
      cache.clear()
      db.close()
    },
  }
}
