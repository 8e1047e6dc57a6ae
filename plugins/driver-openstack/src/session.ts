import { createHash, randomBytes } from 'node:crypto'
import { GutsError, type DiskFormat, type ImportSession, type TargetMapping, type VmDescriptor } from '@guts/sdk'
import { gibCeil, imageProperties } from './image-properties.js'
import type { OpenStackOptions } from './options.js'

/** What beginImport persists, so any later process (after a crash) can finish or undo the import. */
export interface OpenStackSessionData {
  /** `guts-<migration8>-<vm>`: every image, volume and port name starts with it. */
  prefix: string
  /** Migration id (or a generated one): the mark on everything created. */
  mark: string
  sourceVmId: string
  serverName: string
  bootFrom: 'image' | 'volume'
  format: 'qcow2' | 'raw'
  flavor: string
  cpus: number
  memoryMiB: number
  keyPair: string | null
  securityGroups: string[] | null
  availabilityZone: string | null
  volumeType: string | null
  properties: Record<string, string>
  disks: SessionDisk[]
  nics: SessionNic[]
}

export interface SessionDisk {
  id: string
  index: number
  virtualSize: number
  imageName: string
  /** Null when the disk stays an image (the boot disk with bootFrom image). */
  volumeName: string | null
}

export interface SessionNic {
  id: string
  mac: string
  keepMac: boolean
  /** Neutron network name or id; null when no mapping covers the source network. */
  network: string | null
  fixedIp: string | null
  portName: string
}

export const ACCEPTED: readonly DiskFormat[] = ['qcow2', 'raw']

/** Lower-case, `[a-z0-9-]`, bounded: safe in every OpenStack name field and in Neutron tags. */
export function slug(s: string, max = 40): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return (out || 'vm').slice(0, max).replace(/-+$/, '')
}

/** The Neutron/Glance tag marking everything of one migration (Neutron tags: ≤ 60 chars, no commas). */
export function markTag(mark: string): string {
  return `guts:${mark}`.slice(0, 60)
}

/**
 * The Neutron tag naming the source VM (ports have no properties or metadata), so cleanup can find
 * one VM's ports among its migration's. Ids that do not fit a tag (≤ 60 chars, no commas) are hashed.
 */
export function sourceTag(sourceVmId: string): string {
  const readable = `guts-vm:${sourceVmId}`
  if (readable.length <= 60 && !sourceVmId.includes(',')) return readable
  return `guts-vm:#${createHash('sha256').update(sourceVmId).digest('hex').slice(0, 40)}`
}

/** Metadata keys on servers and volumes (Nova/Cinder values ≤ 255 chars). */
export function markMetadata(mark: string, sourceVmId?: string): Record<string, string> {
  return { 'guts-migration': mark.slice(0, 255), ...(sourceVmId ? { 'guts-source-vm': sourceVmId.slice(0, 255) } : {}) }
}

export function sessionData(session: ImportSession): OpenStackSessionData {
  return session.data as unknown as OpenStackSessionData
}

/** The deterministic plan of everything an import will create, derived from the VM and mapping. */
export function planImport(vm: VmDescriptor, mapping: TargetMapping, options: OpenStackOptions): OpenStackSessionData {
  const format = (mapping.diskFormat ?? options.diskFormat ?? 'qcow2') as DiskFormat
  if (!ACCEPTED.includes(format)) {
    throw new GutsError('GUTS_UNSUPPORTED', `The OpenStack destination uploads qcow2 or raw images, not ${format}.`, {
      suggestions: ['Set diskFormat to qcow2 or raw.'],
      ref: vm.name,
    })
  }
  if (!vm.disks.length) throw new GutsError('GUTS_UNSUPPORTED', `${vm.name} has no disks; there is nothing to boot.`, { ref: vm.name })
  const bootFrom = mapping.bootFrom ?? options.bootFrom ?? 'image'
  // The migration id when the core gives one; otherwise a fresh one, fixed from here on by the session.
  const mark = mapping.tags['guts-migration'] ?? `x${randomBytes(6).toString('hex')}`
  const prefix = `guts-${slug(mark, 8)}-${slug(mapping.name)}`
  const disks = [...vm.disks].sort((a, b) => a.index - b.index)
  return {
    prefix,
    mark,
    // The core's mark when it gives one, so cleanup's search by marks finds what this import made.
    sourceVmId: mapping.tags['guts-source-vm'] ?? vm.id,
    serverName: mapping.name,
    bootFrom,
    format: format as 'qcow2' | 'raw',
    flavor: mapping.flavor ?? 'auto',
    cpus: vm.cpus,
    memoryMiB: vm.memoryMiB,
    keyPair: mapping.keyPair ?? null,
    securityGroups: mapping.securityGroups ?? null,
    availabilityZone: mapping.availabilityZone ?? null,
    volumeType: mapping.volumeType ?? null,
    properties: imageProperties(vm, mapping.options),
    disks: disks.map((d, position) => ({
      id: d.id,
      index: d.index,
      virtualSize: d.virtualSize,
      imageName: `${prefix}-disk${position}`,
      volumeName: position === 0 && bootFrom === 'image' ? null : `${prefix}-disk${position}`,
    })),
    nics: vm.nics.map((nic, i) => {
      const net = mapping.networks.find((n) => n.from === nic.network)
      return {
        id: nic.id,
        mac: nic.mac.toLowerCase(),
        keepMac: net?.keepMac ?? true,
        network: net?.to ?? null,
        fixedIp: net?.fixedIp ?? null,
        portName: `${prefix}-nic${i}`,
      }
    }),
  }
}

/** Root disk size (GiB) the flavor must hold when booting from the image. */
export function rootDiskGiB(data: OpenStackSessionData): number {
  return data.bootFrom === 'image' && data.disks[0] ? gibCeil(data.disks[0].virtualSize) : 0
}

export function diskOf(data: OpenStackSessionData, diskId: string, vmName: string): SessionDisk {
  const d = data.disks.find((x) => x.id === diskId)
  if (!d)
    throw new GutsError(
      'GUTS_NOT_FOUND',
      `The import of ${vmName} has no disk "${diskId}" (it has ${data.disks.map((x) => x.id).join(', ')}).`,
      { ref: `${vmName}/${diskId}` },
    )
  return d
}
