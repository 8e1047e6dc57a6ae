import { GutsError } from '@guts/sdk'
import { z } from 'zod'

/**
 * The JSON the inventory scripts print, checked before use: a host that answers in another shape
 * (an older script, a PowerShell quirk) fails here with the path of the odd field, not later with
 * a wrong disk. Windows PowerShell 5.1 turns a one-element array into a bare value in some places,
 * so lists accept both.
 */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(item))
const str = z.preprocess((v) => (v === null || v === undefined ? '' : v), z.string())

export const VhdFileSchema = z.object({
  Path: z.string(),
  VhdFormat: z.number().int(),
  VhdType: z.number().int(),
  Size: z.number(),
  FileSize: z.number(),
  BlockSize: z.number(),
  LogicalSectorSize: z.number().int(),
  ParentPath: str,
  /** Resilient Change Tracking id (Windows Server 2016+, VHDX); empty without RCT. */
  RctId: str,
})

export const DriveSchema = z.object({
  ControllerType: z.number().int(),
  ControllerNumber: z.number().int(),
  ControllerLocation: z.number().int(),
  Path: str,
  PassThrough: z.boolean(),
  DiskNumber: z.number().nullable(),
  SupportPersistentReservations: z.boolean(),
  Chain: list(VhdFileSchema).nullable().optional(),
  ChainError: str.optional(),
})

export const NicSchema = z.object({
  Id: z.string(),
  Name: str,
  MacAddress: str,
  SwitchName: str,
  IsLegacy: z.boolean(),
  IPAddresses: list(z.string()),
  VlanMode: str,
  VlanId: z.number().int(),
})

export const SnapshotSchema = z.object({
  Id: z.string(),
  Name: str,
  ParentSnapshotId: str,
  SnapshotType: z.number().int(),
  CreationTime: z.string(),
  Notes: str,
})

export const VmSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  State: z.number().int(),
  Generation: z.number().int(),
  Version: str,
  ProcessorCount: z.number().int(),
  MemoryStartup: z.number(),
  DynamicMemoryEnabled: z.boolean(),
  MemoryMinimum: z.number(),
  MemoryMaximum: z.number(),
  CheckpointType: z.number().int(),
  Notes: str,
  Path: str,
  IsClustered: z.boolean(),
  CreationTime: z.string(),
  Firmware: z.object({ SecureBoot: z.boolean(), SecureBootTemplate: str, BootOrder: list(z.string()) }).nullable(),
  TpmEnabled: z.boolean(),
  Disks: list(DriveSchema),
  Nics: list(NicSchema),
  Snapshots: list(SnapshotSchema),
  Guest: z.record(z.string(), z.string()).nullable().optional(),
})

export const DescribeSchema = z.object({ Host: z.string(), PSVersion: z.string(), VMs: list(VmSchema) })
export const ListSchema = z.object({
  Host: z.string(),
  VMs: list(
    z.object({ Id: z.string(), Name: z.string(), State: z.number().int(), Generation: z.number().int(), IsClustered: z.boolean() }),
  ),
})

export type HostVm = z.infer<typeof VmSchema>
export type HostDrive = z.infer<typeof DriveSchema>
export type HostNic = z.infer<typeof NicSchema>
export type VhdFile = z.infer<typeof VhdFileSchema>

/** Parses a script's answer; a mismatch is a driver error that names the odd field. */
export function parseHostAnswer<T extends z.ZodType>(schema: T, value: unknown, host: string, op: string): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  throw new GutsError(
    'GUTS_DRIVER_ERROR',
    `The ${op} answer of Hyper-V host ${host} has an unexpected shape at ${issue.path.join('.') || '(top)'}: ${issue.message}.`,
  )
}

// Hyper-V's enums, by the numbers the scripts cast them to.
export const VM_STATE = {
  Other: 1,
  Running: 2,
  Off: 3,
  Stopping: 4,
  Saved: 6,
  Paused: 9,
  Starting: 10,
  Reset: 11,
  Saving: 32773,
  Pausing: 32776,
  Resuming: 32777,
  FastSaved: 32779,
  FastSaving: 32780,
  ForceShutdown: 32781,
  ForceReboot: 32782,
} as const
/** The `*Critical` states (32783–32794): the VM's storage is unreachable; nothing can be exported. */
export const CRITICAL_STATES = { first: 32783, last: 32794 } as const
export const CONTROLLER_TYPE = { IDE: 0, SCSI: 1, PMEM: 2 } as const
export const VHD_FORMAT = { VHD: 2, VHDX: 3, VHDSet: 4 } as const
export const VHD_TYPE = { Fixed: 2, Dynamic: 3, Differencing: 4 } as const
export const CHECKPOINT_TYPE = { Disabled: 2, Production: 3, ProductionOnly: 4, Standard: 5 } as const
