import { GutsError, isGutsError, type Json, type NicDescriptor, type VmDescriptor, type VmRef } from '@guts/sdk'
import { retrieve, type Caller, type PropValue } from './client/property-collector.js'
import { arr, at, isObject, num, type XmlValue } from './client/xml.js'
import { allocatedSizes, devicesOf, diskFacts, guestIps, rawNics, snapshotStats, type DiskFacts, type RawNic } from './devices.js'
import { loadTree, summaryOf, SUMMARY_PROPS, vmRef, type Tree } from './inventory.js'
import { guestOs } from './os.js'

const DESCRIBE_PROPS = [
  ...SUMMARY_PROPS,
  'config.hardware.numCPU',
  'config.hardware.memoryMB',
  'config.hardware.device',
  'config.firmware',
  'config.bootOptions',
  'config.guestId',
  'config.guestFullName',
  'config.uuid',
  'config.instanceUuid',
  'config.changeTrackingEnabled',
  'guest.net',
  'snapshot',
  'layoutEx',
]

/**
 * One VM's hardware, OS, disks and NICs. Driver facts the SDK model has no field for go into
 * `extra` (moref, uuids, CBT, snapshots, per-disk backing and mode), which preflight reads.
 */
export async function describeVm(caller: Caller, ref: VmRef, signal?: AbortSignal, tree?: Tree): Promise<VmDescriptor> {
  const obj = vmRef(ref.id)
  const [o] = await retrieve(caller, [obj], 'VirtualMachine', DESCRIBE_PROPS, signal).catch((error: unknown) => {
    throw isGutsError(error) && error.code === 'GUTS_NOT_FOUND' ? notFound(ref, error) : error
  })
  if (!o || o.props.name === undefined) throw notFound(ref)
  const p = o.props
  const summary = summaryOf(tree ?? (await loadTree(caller, signal)), obj, p)
  const devices = devicesOf(p['config.hardware.device'] as XmlValue | undefined)
  const allocated = allocatedSizes(p.layoutEx as XmlValue | undefined)
  const disks = diskFacts(devices, bootDiskKey(p['config.bootOptions'])).map((d) => {
    const bytes = allocated.get(d.key)
    return bytes ? { ...d, descriptor: { ...d.descriptor, allocatedSize: bytes } } : d
  })
  const nics = await resolveNics(caller, rawNics(devices), p['guest.net'] as XmlValue | undefined, signal)
  const firmware = p['config.firmware'] === 'efi' ? 'uefi' : 'bios'
  const secureBoot = at(p['config.bootOptions'] as XmlValue | undefined, 'efiSecureBootEnabled') === 'true'
  const guestId = typeof p['config.guestId'] === 'string' ? p['config.guestId'] : undefined
  const snaps = snapshotStats(p.snapshot as XmlValue | undefined)
  const cbt = p['config.changeTrackingEnabled'] === 'true'
  return {
    ...summary,
    cpus: Number(p['config.hardware.numCPU'] ?? 0),
    memoryMiB: Number(p['config.hardware.memoryMB'] ?? 0),
    firmware,
    secureBoot,
    os: guestOs(guestId),
    disks: disks.map((d) => d.descriptor),
    nics,
    extra: {
      moref: `VirtualMachine:${obj.value}`,
      ...(typeof p['config.uuid'] === 'string' ? { uuid: p['config.uuid'] } : {}),
      ...(typeof p['config.instanceUuid'] === 'string' ? { instanceUuid: p['config.instanceUuid'] } : {}),
      ...(guestId ? { guestId } : {}),
      ...(typeof p['config.guestFullName'] === 'string' ? { guestFullName: p['config.guestFullName'] } : {}),
      changeTracking: cbt,
      snapshots: snaps.count,
      snapshotDepth: snaps.depth,
      disks: disks.map(diskExtra),
    },
  }
}

function diskExtra(d: DiskFacts): Json {
  return {
    id: d.descriptor.id,
    address: d.address,
    backingType: d.backingType,
    ...(d.fileName ? { fileName: d.fileName } : {}),
    ...(d.diskMode ? { diskMode: d.diskMode } : {}),
    ...(d.compatibilityMode ? { compatibilityMode: d.compatibilityMode } : {}),
    ...(d.changeId ? { changeId: d.changeId } : {}),
  }
}

/** The disk device the VM boots from, when `bootOptions.bootOrder` names one. */
function bootDiskKey(bootOptions: PropValue): number | undefined {
  for (const dev of arr(at(bootOptions as XmlValue | undefined, 'bootOrder'))) {
    if (isObject(dev) && String(dev['@_xsi:type'] ?? '').endsWith('VirtualMachineBootOptionsBootableDiskDevice'))
      return num(dev, 'deviceKey')
  }
  return undefined
}

/**
 * Plans map networks by name, so distributed port group keys are resolved to the port group's
 * name (one extra call for all of them); NSX networks keep their opaque id.
 */
async function resolveNics(caller: Caller, raw: RawNic[], guestNet: XmlValue | undefined, signal?: AbortSignal): Promise<NicDescriptor[]> {
  const keys = [...new Set(raw.map((n) => n.portgroupKey).filter((k): k is string => !!k))]
  const names = new Map<string, string>()
  if (keys.length) {
    const pgs = await retrieve(
      caller,
      keys.map((value) => ({ type: 'DistributedVirtualPortgroup', value })),
      'DistributedVirtualPortgroup',
      ['name', 'key'],
      signal,
    ).catch(() => [])
    for (const pg of pgs) names.set(typeof pg.props.key === 'string' ? pg.props.key : pg.obj.value, String(pg.props.name ?? pg.obj.value))
  }
  const ips = guestIps(guestNet)
  return raw.map((n) => {
    const ipAddresses = ips.byKey.get(n.key) ?? ips.byMac.get(n.mac) ?? []
    return {
      id: String(n.key),
      mac: n.mac,
      network: n.networkName ?? (n.portgroupKey ? (names.get(n.portgroupKey) ?? n.portgroupKey) : undefined) ?? n.opaqueNetworkId ?? '',
      model: n.model,
      ...(ipAddresses.length ? { ipAddresses } : {}),
    }
  })
}

function notFound(ref: VmRef, cause?: unknown): GutsError {
  return new GutsError(
    'GUTS_NOT_FOUND',
    `VM ${ref.name || ref.id} (${ref.id}) was not found in vSphere: it was deleted, or the id is from another vCenter.`,
    {
      details: { vmware: { fault: 'ManagedObjectNotFound', obj: `VirtualMachine:${ref.id}` } },
      suggestions: ['List the VMs again (guts vm list) and use the current id.'],
      ref: ref.name || ref.id,
      ...(cause ? { cause } : {}),
    },
  )
}
