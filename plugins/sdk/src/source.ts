import type { Readable } from 'node:stream'
import type { DriverContext, JsonObject } from './context.js'
import type { DiskFormat, ExportMode, Extent, Finding, Outcome, VmDescriptor, VmQuery, VmRef, VmSummary } from './model.js'

/** How the core can read a source disk, best first. */
export type DiskAccess = 'file' | 'http' | 'nbd' | 'stream'

export interface SourceCapabilities {
  /** Can export a running VM through a snapshot (`mode: snapshot`). Default false. */
  readonly liveExport: boolean
  /** Implements `changedExtents` (CBT): enables warm migration. Default false. */
  readonly changedBlocks: boolean
  /** Implements `powerOff` (cold export of a running VM, warm cutover), ideally `powerOn`. Default false. */
  readonly powerControl: boolean
  /** The kinds of `DiskSource` `openDisk` may return, best first. Default `['stream']`. */
  readonly diskAccess: readonly DiskAccess[]
}

/**
 * A disk ready to be read. `format` is the format of the bytes behind it; `virtualSize` the
 * guest-visible size. The core picks the transfer route from `kind`.
 */
export type DiskSource = {
  format: DiskFormat
  virtualSize: number
  /** Called once the core is done reading, also on failure. Optional. */
  close?(): Promise<void>
} & (
  | { kind: 'file'; path: string }
  | { kind: 'http'; url: string; headers?: Record<string, string> }
  | { kind: 'nbd'; uri: string }
  | {
      kind: 'stream'
      /** Opens the bytes from the start. For non-raw formats the core stages them first. */
      open(signal: AbortSignal): Promise<Readable>
    }
) & {
    /**
     * Optional random access to the raw disk: the bytes `[offset, offset + length)`. Delta syncs of a
     * warm migration read only the changed extents through it; without it the core streams the whole
     * disk and keeps only the changed extents (correct, but every sync moves the whole disk). A driver
     * may offer it for some disks or sessions and not others.
     */
    readRange?(offset: number, length: number, signal: AbortSignal): Promise<Readable>
  }

/**
 * What `beginExport` returns: plain JSON, persisted by the core, so that another process can call
 * `openDisk` or `endExport` with it after a crash (snapshot ids, lease ids, change ids).
 */
export interface ExportSession {
  vm: VmRef
  mode: ExportMode
  data: JsonObject
  /**
   * With `ExportOptions.changeTracking`: each disk's change id as of this export (a point in
   * time). The core hands it back as `since` to `changedExtents` of the next export.
   */
  changeIds?: Record<string, string>
}

export interface ExportOptions {
  mode: ExportMode
  /**
   * What the plan says about a running VM in cold mode. The core powers the VM off (through
   * `powerOff`) before `beginExport`; with `refuse` a running VM is a preflight error.
   */
  powerOff: 'shutdown' | 'force' | 'refuse'
  /**
   * Marks of this migration (`guts-migration`, `guts-source-vm`). Whatever the export takes at the
   * source (snapshots) must carry them, so that `releaseLeftovers` finds it after a crash.
   */
  marks?: Record<string, string>
  /** Warm migration: turn change tracking on if it is off and fill `ExportSession.changeIds`. */
  changeTracking?: boolean
  /**
   * Warm migration: this export is the last sync (the VM is off for cutover). Nothing needs to
   * stay at the source for a later one, so `endExport` releases what keeps change ids valid too.
   */
  finalSync?: boolean
}

/** What a migration that ends (rollback, cleanup) no longer needs at the source, beyond its marks. */
export interface LeftoverRelease {
  /**
   * The change ids the migration recorded last (a warm VM's). A source whose change tracking keeps
   * state per id (Hyper-V reference points) releases that state too; on resume it is not passed,
   * so the next delta sync can still start from those ids.
   */
  changeIds?: Readonly<Record<string, string>>
}

export interface PowerOffOptions {
  /** `shutdown`: ask the guest OS, then force once `timeoutMs` passed. `force`: pull the plug. */
  method: 'shutdown' | 'force'
  timeoutMs: number
}

export interface SourceDriver {
  readonly name: string
  readonly apiVersion: 1
  readonly capabilities: SourceCapabilities
  /** Idempotent. Throws GUTS_AUTH_FAILED / GUTS_UNREACHABLE with a message that says what to fix. */
  connect(ctx: DriverContext): Promise<void>
  listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary>
  /** Throws GUTS_NOT_FOUND for an unknown VM. */
  describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor>
  /** Problems that would make the export fail, found without changing anything. */
  preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]>
  beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession>
  openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource>
  /**
   * Only with `capabilities.changedBlocks`: sorted, non-overlapping extents of the session's disk
   * changed since `since` (a change id from an earlier session's `changeIds`, or `*` for every
   * allocated extent). When `since` is no longer valid (tracking was reset or turned off and on),
   * throw a GutsError with `details.changeTrackingReset: true`: the core then copies that disk whole.
   */
  changedExtents?(session: ExportSession, diskId: string, since: string, ctx: DriverContext): AsyncIterable<Extent>
  /** Only with `capabilities.powerControl`. Idempotent: an already powered-off VM is fine. */
  powerOff?(vm: VmRef, options: PowerOffOptions, ctx: DriverContext): Promise<void>
  /**
   * Optional, with `capabilities.powerControl`. Idempotent. The core powers a source VM back on
   * when a migration that powered it off fails and is rolled back, so the workload runs again.
   */
  powerOn?(vm: VmRef, ctx: DriverContext): Promise<void>
  /** Idempotent: releases what beginExport took (snapshots, leases), whatever the outcome. */
  endExport(session: ExportSession, outcome: Outcome, ctx: DriverContext): Promise<void>
  /**
   * Optional. Releases what an export of this VM took at the source and that carries ALL of
   * `marks` (snapshots left by a process that died before its session was saved). Returns how
   * many things it released. Called on resume before a new export, and by `guts migration cleanup`.
   * Empty `marks` match nothing. May fail while a crashed process's lease still holds the snapshot;
   * the core retries on the next run. `release` (rollback, cleanup) names more the migration is done with.
   */
  releaseLeftovers?(vm: VmRef, marks: Readonly<Record<string, string>>, ctx: DriverContext, release?: LeftoverRelease): Promise<number>
  /** Idempotent. Closes connections. */
  dispose(): Promise<void>
}
