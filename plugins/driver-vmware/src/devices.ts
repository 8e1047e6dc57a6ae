import type { DiskDescriptor, NicDescriptor } from '@guts/sdk'
import { arr, at, bool, isObject, num, str, XSI_TYPE, type XmlObject, type XmlValue } from './client/xml.js'

/** A VirtualDisk with the facts preflight and export need beyond the SDK descriptor. */
export interface DiskFacts {
  descriptor: DiskDescriptor
  key: number
  /** `scsi0:1`: what vSphere users call the disk. */
  address: string
  backingType: string
  fileName?: string
  diskMode?: string
  /** RDM only: `physicalMode` or `virtualMode`. */
  compatibilityMode?: string
  changeId?: string
}

type Controller = { kind: NonNullable<DiskDescriptor['controller']>; bus: number; prefix: string }

export const CONTROLLERS: Record<string, Controller['kind']> = {
  VirtualLsiLogicController: 'scsi',
  VirtualLsiLogicSASController: 'scsi',
  ParaVirtualSCSIController: 'scsi',
  VirtualBusLogicController: 'scsi',
  VirtualIDEController: 'ide',
  VirtualAHCIController: 'sata',
  VirtualSATAController: 'sata',
  VirtualNVMEController: 'nvme',
}

export function devicesOf(hardwareDevice: XmlValue | undefined): XmlObject[] {
  return arr(at(hardwareDevice, 'VirtualDevice')).filter(isObject)
}

const typeOf = (d: XmlObject): string => String(d[XSI_TYPE] ?? '').replace(/^[^:]*:/, '')

/**
 * Disks in boot order: the disk named first in `bootOptions.bootOrder` leads, then by controller
 * (as the BIOS enumerates them: ide, sata, nvme, scsi… is not fixed, so by bus and unit within
 * the kind of the boot disk's controller first). Their ids are the device keys, which NFC lease
 * URLs and QueryChangedDiskAreas use too.
 */
export function diskFacts(devices: XmlObject[], bootDiskKey?: number): DiskFacts[] {
  const controllers = new Map<number, Controller>()
  for (const d of devices) {
    const kind = CONTROLLERS[typeOf(d)]
    const key = num(d, 'key')
    if (kind && key !== undefined) controllers.set(key, { kind, bus: num(d, 'busNumber') ?? 0, prefix: kind })
  }
  const disks = devices.filter((d) => typeOf(d) === 'VirtualDisk')
  const facts = disks.map((d) => {
    const key = num(d, 'key') ?? 0
    const ctl = controllers.get(num(d, 'controllerKey') ?? -1)
    const unit = num(d, 'unitNumber') ?? 0
    const backing = isObject(d.backing) ? d.backing : {}
    const capacity = num(d, 'capacityInBytes') || (num(d, 'capacityInKB') ?? 0) * 1024
    const thin = bool(backing, 'thinProvisioned')
    const fileName = str(backing, 'fileName')
    const diskMode = str(backing, 'diskMode')
    const compatibilityMode = str(backing, 'compatibilityMode')
    const changeId = str(backing, 'changeId')
    const descriptor: DiskDescriptor = {
      id: String(key),
      index: 0,
      virtualSize: capacity,
      format: 'vmdk',
      ...(ctl ? { controller: ctl.kind } : {}),
      ...(thin !== undefined ? { thin } : {}),
      name: str(d, 'deviceInfo', 'label') ?? fileName ?? `disk ${key}`,
    }
    return {
      descriptor,
      key,
      address: ctl ? `${ctl.prefix}${ctl.bus}:${unit}` : `unit${unit}`,
      backingType: typeOf(backing),
      ...(fileName ? { fileName } : {}),
      ...(diskMode ? { diskMode } : {}),
      ...(compatibilityMode ? { compatibilityMode } : {}),
      ...(changeId ? { changeId } : {}),
      sort: [key === bootDiskKey ? 0 : 1, ctl ? Object.keys(CONTROLLER_ORDER).indexOf(ctl.kind) : 9, ctl?.bus ?? 0, unit] as number[],
    }
  })
  facts.sort((a, b) => compare(a.sort, b.sort))
  return facts.map(({ sort: _sort, ...f }, index) => ({ ...f, descriptor: { ...f.descriptor, index } }))
}

// Firmware enumerates controllers in this order when no boot order is set.
const CONTROLLER_ORDER = { scsi: 0, sata: 1, nvme: 2, ide: 3, virtio: 4 }

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

const NIC_MODELS: Record<string, NicDescriptor['model']> = {
  VirtualE1000: 'e1000',
  VirtualE1000e: 'e1000e',
  VirtualVmxnet3: 'vmxnet3',
}

/** A NIC before its distributed port group key is resolved to a name. */
export interface RawNic {
  key: number
  mac: string
  model: NonNullable<NicDescriptor['model']>
  /** Standard switch: the network name. */
  networkName?: string
  /** Distributed switch: the port group key to resolve. */
  portgroupKey?: string
  /** NSX: the opaque network id. */
  opaqueNetworkId?: string
  label?: string
}

export function rawNics(devices: XmlObject[]): RawNic[] {
  return devices
    .filter((d) => str(d, 'macAddress') !== undefined)
    .map((d) => {
      const backing = isObject(d.backing) ? d.backing : {}
      const networkName = str(backing, 'deviceName')
      const portgroupKey = str(backing, 'port', 'portgroupKey')
      const opaqueNetworkId = str(backing, 'opaqueNetworkId')
      const label = str(d, 'deviceInfo', 'label')
      return {
        key: num(d, 'key') ?? 0,
        mac: (str(d, 'macAddress') ?? '').toLowerCase(),
        model: NIC_MODELS[typeOf(d)] ?? 'other',
        ...(networkName ? { networkName } : {}),
        ...(portgroupKey ? { portgroupKey } : {}),
        ...(opaqueNetworkId ? { opaqueNetworkId } : {}),
        ...(label ? { label } : {}),
      }
    })
}

/** `guest.net[]` → IPs by device key and by MAC (tools report both; either may be missing). */
export function guestIps(guestNet: XmlValue | undefined): { byKey: Map<number, string[]>; byMac: Map<string, string[]> } {
  const byKey = new Map<number, string[]>()
  const byMac = new Map<string, string[]>()
  for (const n of arr(at(guestNet, 'GuestNicInfo')).filter(isObject)) {
    const ips = arr(n.ipAddress)
      .map((ip) => (typeof ip === 'string' ? ip : (str(ip) ?? '')))
      .filter(Boolean)
    const key = num(n, 'deviceConfigId')
    const mac = str(n, 'macAddress')?.toLowerCase()
    if (key !== undefined) byKey.set(key, ips)
    if (mac) byMac.set(mac, ips)
  }
  return { byKey, byMac }
}

/** The depth and count of a VM's snapshot tree (`snapshot.rootSnapshotList`). */
export function snapshotStats(snapshotInfo: XmlValue | undefined): { count: number; depth: number } {
  let count = 0
  const walk = (nodes: XmlValue | undefined, depth: number): number => {
    let max = depth - 1
    for (const n of arr(nodes).filter(isObject)) {
      count++
      max = Math.max(max, depth, walk(n.childSnapshotList, depth + 1))
    }
    return max
  }
  const depth = walk(at(snapshotInfo, 'rootSnapshotList'), 1)
  return { count, depth: Math.max(depth, 0) }
}

/**
 * Bytes each disk takes on its datastore (the `diskExtent` files of its chain in `layoutEx`), by
 * device key: what a thin disk really holds. Sizes of 0 (the simulator never updates them) are
 * left out rather than reported as empty disks.
 */
export function allocatedSizes(layoutEx: XmlValue | undefined): Map<number, number> {
  const files = new Map<string, { size: number; type: string }>()
  for (const f of arr(at(layoutEx, 'file')))
    if (isObject(f)) files.set(str(f, 'key') ?? '', { size: num(f, 'size') ?? 0, type: str(f, 'type') ?? '' })
  const out = new Map<number, number>()
  for (const d of arr(at(layoutEx, 'disk'))) {
    if (!isObject(d)) continue
    const key = num(d, 'key')
    let bytes = 0
    for (const link of arr(d.chain))
      for (const fk of arr(isObject(link) ? link.fileKey : undefined)) {
        const f = files.get(String(fk))
        if (f?.type === 'diskExtent') bytes += f.size
      }
    if (key !== undefined && bytes > 0) out.set(key, bytes)
  }
  return out
}
