import type { Writable } from 'node:stream'
import type { DriverContext, JsonObject, UndoEntry } from './context.js'
import type { DiskDescriptor, DiskFormat, Finding, Firmware, Outcome, TransferResult, VmDescriptor } from './model.js'

export interface DestinationCapabilities {
  /** Where disks land. Default `['image']`. */
  readonly diskTargets: readonly ('image' | 'volume' | 'file')[]
  /** Formats `openDiskTarget` accepts, best first. Default `['qcow2', 'raw']`. */
  readonly acceptsFormats: readonly DiskFormat[]
  /** Firmware the destination can boot. Default `['bios', 'uefi']`. */
  readonly firmware: readonly Firmware[]
  /** Disk targets persist across delta syncs (warm migration). Default false. */
  readonly incremental: boolean
}

export interface NetworkMapping {
  from: string
  to: string
  keepMac: boolean
  fixedIp?: string
}

/** Everything the plan says about where and how one VM lands. Driver-specific keys live in `options`. */
export interface TargetMapping {
  /** Name the VM gets at the destination. */
  name: string
  flavor?: string
  networks: NetworkMapping[]
  bootFrom?: 'image' | 'volume'
  diskFormat?: DiskFormat
  securityGroups?: string[]
  keyPair?: string
  availabilityZone?: string
  volumeType?: string
  /** Marks that identify everything guts creates for this VM (migration id, source VM id). */
  tags: Record<string, string>
  options: JsonObject
}

/** Plain JSON, persisted by the core after `beginImport`. */
export interface ImportSession {
  vm: { id: string; name: string }
  data: JsonObject
}

/** Where the core writes one disk. */
export type DiskTarget = {
  format: DiskFormat
} & (
  | { kind: 'file'; path: string }
  | {
      kind: 'stream'
      /** A sink for the disk bytes in `format`; it must end only once the data is durable. */
      open(signal: AbortSignal): Promise<Writable>
    }
)

/** The booted (or registered) result: plain JSON. */
export interface InstanceRef {
  id: string
  data: JsonObject
}

export interface DestinationDriver {
  readonly name: string
  readonly apiVersion: 1
  readonly capabilities: DestinationCapabilities
  connect(ctx: DriverContext): Promise<void>
  /** Flavors, networks, quotas, formats: every problem found, nothing created. */
  preflight(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<Finding[]>
  beginImport(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<ImportSession>
  /** Records an undo entry (ctx.recordUndo) before creating anything. */
  openDiskTarget(session: ImportSession, disk: DiskDescriptor, ctx: DriverContext): Promise<DiskTarget>
  commitDisk(session: ImportSession, disk: DiskDescriptor, result: TransferResult, ctx: DriverContext): Promise<void>
  boot(session: ImportSession, ctx: DriverContext): Promise<InstanceRef>
  verify(session: ImportSession, instance: InstanceRef, ctx: DriverContext): Promise<Finding[]>
  /**
   * Idempotent: deletes exactly what this VM's import created, using the undo entries the driver
   * recorded (newest first) and the session. Must succeed when some of them never came to exist.
   */
  rollback(session: ImportSession | undefined, undo: readonly UndoEntry[], ctx: DriverContext): Promise<void>
  /** Idempotent: releases what remains (temporary images, staging). */
  endImport(session: ImportSession, outcome: Outcome, ctx: DriverContext): Promise<void>
  dispose(): Promise<void>
}
