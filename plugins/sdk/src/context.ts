/** Plain JSON, the only shape that may cross a process boundary (sessions, undo entries). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/**
 * A side effect on the destination (or source: a snapshot), recorded durably by the core
 * *before* the driver performs it, so that a later process can undo it after a crash.
 * `kind` and `ref` are driver-defined, e.g. `{kind: 'file', ref: '/out/web-01/disk-0.qcow2'}`
 * or `{kind: 'volume', ref: 'guts-3f2a-web-01-disk-0'}` (a name or mark, since the id is not known yet).
 */
export interface UndoEntry {
  kind: string
  ref: string
  data?: JsonObject
}

/** Handed to every driver call. Drivers never talk to the state store or the UI, only to this. */
export interface DriverContext {
  /** Fires on cancel, Ctrl-C, SIGTERM or a timeout. Drivers must stop and throw GUTS_ABORTED. */
  signal: AbortSignal
  log: Logger
  /** A scratch directory owned by this VM's migration; removed by the core at cleanup. */
  workDir: string
  /**
   * Persist an undo entry before making the side effect it describes. Resolves once it is durable.
   * Destination `rollback` later receives every entry recorded for the VM, newest first.
   */
  recordUndo(entry: UndoEntry): Promise<void>
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}
