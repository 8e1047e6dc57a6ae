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

/** One VM of a plan as `preflightPlan` sees it: described, with where it lands. */
export interface PlannedVm {
  vm: VmDescriptor
  mapping: TargetMapping
}

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
  /**
   * Optional. Checks what only the whole plan can show — quotas that each VM fits alone but not all
   * of them together. Called once, after every VM still to migrate is described and before any is
   * exported; an error finding fails the whole migration before anything is created. Findings
   * should name the VMs (`ref`) they concern. Nothing is created.
   */
  preflightPlan?(vms: readonly PlannedVm[], ctx: DriverContext): Promise<Finding[]>
  /**
   * Optional. Returns undo entries for the resources at the destination that carry ALL of `marks`
   * (the `tags` of a TargetMapping, e.g. `guts-migration` and `guts-source-vm`) — what `rollback`
   * then deletes. Lets `guts migration cleanup` remove leftovers whose undo entries were lost or
   * never written (a process that died between creating and recording). Nothing is deleted here.
   */
  findLeftovers?(marks: Readonly<Record<string, string>>, ctx: DriverContext): Promise<UndoEntry[]>
  /** Idempotent: releases what remains (temporary images, staging). */
  endImport(session: ImportSession, outcome: Outcome, ctx: DriverContext): Promise<void>
  dispose(): Promise<void>
}
