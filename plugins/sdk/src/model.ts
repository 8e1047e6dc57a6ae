import type { JsonObject } from './context.js'

/** Disk image formats by their qemu-img names (`vpc` is VHD). */
export type DiskFormat = 'raw' | 'qcow2' | 'vmdk' | 'vhdx' | 'vpc'
export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2', 'vmdk', 'vhdx', 'vpc']

export type Firmware = 'bios' | 'uefi'
export type OsFamily = 'linux' | 'windows' | 'other'
export type PowerState = 'on' | 'off' | 'suspended' | 'unknown'
export type ExportMode = 'cold' | 'snapshot'

/** How the core names a VM to a driver: the driver's own stable id, plus its display name. */
export interface VmRef {
  id: string
  name: string
}

export interface VmQuery {
  /** Glob on the VM name (`app-*`). */
  name?: string
  /** Folder / path prefix, driver-defined (`/DC0/vm/app`). */
  folder?: string
  powerState?: PowerState
}

export interface VmSummary extends VmRef {
  powerState: PowerState
  folder?: string
  /** The host that runs the VM; the core limits parallel exports per host. */
  host?: string
}

export interface DiskDescriptor {
  /** Stable within the VM (`disk-0`, `scsi0:1`, a VMware device key). */
  id: string
  /** Position in boot order; 0 is the boot disk. */
  index: number
  /** Size the guest sees, bytes. Always > 0. */
  virtualSize: number
  /** Bytes actually allocated at the source, when known (thin disks, sparse files). */
  allocatedSize?: number
  format: DiskFormat
  controller?: 'ide' | 'sata' | 'scsi' | 'nvme' | 'virtio'
  thin?: boolean
  name?: string
}

export interface NicDescriptor {
  id: string
  /** Lower-case `aa:bb:cc:dd:ee:ff`. */
  mac: string
  /** Source network or port group name, as plans map it (`networks: [{from: …}]`). */
  network: string
  ipAddresses?: string[]
  model?: 'e1000' | 'e1000e' | 'vmxnet3' | 'virtio' | 'rtl8139' | 'hyperv' | 'other'
}

export interface VmDescriptor extends VmSummary {
  cpus: number
  memoryMiB: number
  firmware: Firmware
  secureBoot: boolean
  os: { family: OsFamily; id?: string; distro?: string; version?: string }
  disks: DiskDescriptor[]
  nics: NicDescriptor[]
  /** Driver-specific facts worth keeping (JSON-safe). */
  extra?: JsonObject
}

export type Severity = 'error' | 'warning' | 'info'

/** A preflight or verify result. Errors block the migration of that VM. */
export interface Finding {
  severity: Severity
  /** Stable machine-readable code, e.g. `flavor-not-found`, `disk-rdm-unsupported`. */
  code: string
  message: string
  /** VM name, disk id, or plan path the finding is about. */
  ref?: string
}

/** A byte range on a disk, for changed-block tracking. */
export interface Extent {
  offset: number
  length: number
}

/** The outcome handed to `endExport` / `endImport`. */
export type Outcome = 'succeeded' | 'failed' | 'aborted'

/** What the core measured while moving one disk. */
export interface TransferResult {
  diskId: string
  /** The route the core chose, e.g. `qemu-img:file->file`, `stream:raw->stream`. */
  route: string
  virtualSize: number
  /** Bytes of non-zero data actually moved. */
  bytesWritten: number
  format: DiskFormat
  /** sha256 of the raw disk content, when the route computed it. */
  sha256?: string
}
