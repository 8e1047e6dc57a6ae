import { GutsError, type DiskDescriptor, type Firmware, type NicDescriptor, type OsFamily } from '@guts/sdk'
import { normalizeMac } from './mac.js'
import { toBytes } from './units.js'
import { attr, child, childText, children, descendants, parseXml, type XmlElement } from './xml.js'

/** One `References/File`: a member of the package (an OVA entry or a file next to the .ovf). */
export interface OvfFile {
  id: string
  href: string
  size?: number
  /** `gzip` when the exporter compressed the member; guts refuses those (see files driver). */
  compression?: string
  chunkSize?: number
}

export interface OvfDisk {
  diskId: string
  /** The file holding the disk, when it has one (a blank disk has none). */
  file?: OvfFile
  /** Guest-visible bytes from `ovf:capacity` × `ovf:capacityAllocationUnits`. */
  capacity?: number
  /** The `ovf:format` URI, e.g. VMware's streamOptimized spec; a hint only, qemu-img decides. */
  formatUri?: string
  controller?: DiskDescriptor['controller']
}

export interface OvfNic {
  network: string
  /** Only when the descriptor carries one; the driver derives a stable one otherwise. */
  mac?: string
  model?: NicDescriptor['model']
}

export interface OvfDescriptor {
  name?: string
  cpus?: number
  memoryMiB?: number
  firmware: Firmware
  secureBoot: boolean
  os: { family: OsFamily; id?: string; distro?: string }
  /** In hardware order: the first disk item is the boot disk. */
  disks: OvfDisk[]
  nics: OvfNic[]
  files: OvfFile[]
  /** Things the parser could not make sense of, surfaced as preflight warnings. */
  notes: string[]
}

const RT = { cpu: '3', memory: '4', ide: '5', scsi: '6', nic: '10', disk: '17', otherStorage: '20' } as const
const MiB = 2 ** 20

/** Reads a DMTF OVF 1.x/2.x envelope. Prefixes are ignored; only local names matter. */
export function parseOvf(xml: string): OvfDescriptor {
  const root = parseXml(xml)
  if (root.local !== 'Envelope') {
    throw new GutsError('GUTS_UNSUPPORTED', `This is not an OVF descriptor: the root element is <${root.name}>, expected <Envelope>.`)
  }
  const systems = descendants(root, 'VirtualSystem')
  if (systems.length > 1) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `The OVF package holds ${systems.length} VMs (a VirtualSystemCollection); guts reads one VM per package.`,
      {
        suggestions: ['Export each VM to its own OVA/OVF, or list each disk set under `vms:` with `disks:`.'],
      },
    )
  }
  const system = systems[0]
  const notes: string[] = []
  const files = children(child(root, 'References'), 'File').map(readFile)
  const filesById = new Map(files.map((f) => [f.id, f]))
  const diskSection = child(root, 'DiskSection') ?? descendants(root, 'DiskSection')[0]
  const diskDefs = new Map<string, OvfDisk>()
  for (const d of children(diskSection, 'Disk')) {
    const diskId = attr(d, 'diskId') ?? ''
    const fileRef = attr(d, 'fileRef')
    const file = fileRef ? filesById.get(fileRef) : undefined
    if (fileRef && !file) notes.push(`Disk ${diskId} refers to file "${fileRef}", which References does not list.`)
    const capacity = toBytes(attr(d, 'capacity'), attr(d, 'capacityAllocationUnits'), 1)
    if (capacity === undefined)
      notes.push(
        `Disk ${diskId}: capacity "${attr(d, 'capacity')}" ${attr(d, 'capacityAllocationUnits') ?? ''} is not understood; qemu-img's size is used.`,
      )
    diskDefs.set(diskId, {
      diskId,
      ...(file ? { file } : {}),
      ...(capacity ? { capacity } : {}),
      ...optional('formatUri', attr(d, 'format')),
    })
  }

  const hardware = child(system, 'VirtualHardwareSection') ?? (system ? descendants(system, 'VirtualHardwareSection')[0] : undefined)
  const items = (hardware?.children ?? []).filter((c) => c.local.endsWith('Item')).map(readItem)
  const byInstance = new Map(items.map((i) => [i.f.InstanceID ?? '', i]))
  const config = configValues(hardware)

  let cpus: number | undefined
  let memoryMiB: number | undefined
  const disks: OvfDisk[] = []
  const nics: OvfNic[] = []
  for (const item of items) {
    const type = item.f.ResourceType
    if (type === RT.cpu) {
      cpus = positiveInt(item.f.VirtualQuantity)
      if (cpus === undefined) notes.push(`CPU count "${item.f.VirtualQuantity}" is not understood.`)
    } else if (type === RT.memory) {
      const bytes = toBytes(item.f.VirtualQuantity, item.f.AllocationUnits, MiB)
      memoryMiB = bytes ? Math.max(1, Math.round(bytes / MiB)) : undefined
      if (memoryMiB === undefined) notes.push(`Memory "${item.f.VirtualQuantity}" ${item.f.AllocationUnits ?? ''} is not understood.`)
    } else if (type === RT.nic) {
      const mac = normalizeMac(item.f.Address) ?? normalizeMac(item.config.get('macAddress') ?? item.config.get('mac'))
      nics.push({ network: item.f.Connection ?? '', ...(mac ? { mac } : {}), ...optional('model', nicModel(item.f.ResourceSubType)) })
    } else if (type === RT.disk) {
      const ref = /(disk|file)\/+([^/]+)$/.exec(item.f.HostResource ?? '')
      const def = ref?.[1] === 'disk' ? diskDefs.get(ref[2]!) : undefined
      const file = ref?.[1] === 'file' ? filesById.get(ref[2]!) : undefined
      if (!def && !file) {
        notes.push(
          `Disk item "${item.f.ElementName ?? item.f.InstanceID}" points at "${item.f.HostResource ?? ''}", which the descriptor does not define; skipped.`,
        )
        continue
      }
      const controller = controllerOf(byInstance.get(item.f.Parent ?? ''))
      disks.push({ ...(def ?? { diskId: ref![2]!, file: file! }), ...(controller ? { controller } : {}) })
      if (def) diskDefs.delete(def.diskId)
    }
  }
  // Disks declared but attached to no item still belong to the VM; keep them, after the others.
  disks.push(...diskDefs.values())

  return {
    ...optional('name', childText(system, 'Name') || attr(system, 'id')),
    ...(cpus ? { cpus } : {}),
    ...(memoryMiB ? { memoryMiB } : {}),
    firmware: firmwareOf(config, root),
    secureBoot: /^(true|1)$/i.test(config.get('uefi.secureBoot.enabled') ?? ''),
    os: osOf(child(system, 'OperatingSystemSection')),
    disks,
    nics,
    files,
    notes,
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: V }
}

function positiveInt(s: string | undefined): number | undefined {
  const n = Number(s)
  return Number.isInteger(n) && n > 0 ? n : undefined
}

function readFile(el: XmlElement): OvfFile {
  const size = positiveInt(attr(el, 'size'))
  const chunkSize = positiveInt(attr(el, 'chunkSize'))
  const compression = attr(el, 'compression')
  return {
    id: attr(el, 'id') ?? '',
    href: attr(el, 'href') ?? '',
    ...(size ? { size } : {}),
    ...(compression && compression !== 'identity' ? { compression } : {}),
    ...(chunkSize ? { chunkSize } : {}),
  }
}

interface Item {
  /** Child element text by local name (`rasd:`, `sasd:`, `epasd:` all look the same here). */
  f: Record<string, string | undefined>
  config: Map<string, string>
}

function readItem(el: XmlElement): Item {
  const f: Record<string, string | undefined> = {}
  for (const c of el.children) if (f[c.local] === undefined) f[c.local] = c.text.trim()
  return { f, config: configValues(el) }
}

/** VMware's `<vmw:Config ovf:key=… ovf:value=…>` and `<vmw:ExtraConfig>` pairs directly under `el`. */
function configValues(el: XmlElement | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const c of el?.children ?? []) {
    if (c.local !== 'Config' && c.local !== 'ExtraConfig') continue
    const key = attr(c, 'key')
    if (key !== undefined) out.set(key, attr(c, 'value') ?? '')
  }
  return out
}

function controllerOf(item: Item | undefined): DiskDescriptor['controller'] | undefined {
  switch (item?.f.ResourceType) {
    case RT.ide:
      return 'ide'
    case RT.scsi:
      return /virtio/i.test(item.f.ResourceSubType ?? '') ? 'virtio' : 'scsi'
    case RT.otherStorage:
      return /nvme/i.test(item.f.ResourceSubType ?? '') ? 'nvme' : 'sata'
    default:
      return undefined
  }
}

function nicModel(subType: string | undefined): NicDescriptor['model'] | undefined {
  if (!subType) return undefined
  const s = subType.toLowerCase()
  if (s === 'e1000e') return 'e1000e'
  if (s.includes('e1000')) return 'e1000'
  if (s.includes('vmxnet3')) return 'vmxnet3'
  if (s.includes('virtio')) return 'virtio'
  if (s.includes('rtl8139')) return 'rtl8139'
  if (s.includes('hyper')) return 'hyperv'
  return 'other'
}

function firmwareOf(config: Map<string, string>, root: XmlElement): Firmware {
  if (/^efi$|^uefi$/i.test(config.get('firmware') ?? '')) return 'uefi'
  // VirtualBox writes <Firmware type="EFI"/> inside its own <vbox:Machine> section.
  if (descendants(root, 'Firmware').some((f) => /efi/i.test(attr(f, 'type') ?? f.text))) return 'uefi'
  return 'bios'
}

const WINDOWS_CIM = new Set([58, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 103, 105, 113, 114, 115, 116])
const LINUX_CIM = new Set([36, 79, 80, 82, 83, 84, 85, 87, 89, 93, 94, 95, 96, 97, 98, 99, 101, 102, 106, 107, 108, 109])
const DISTROS = [
  'ubuntu',
  'debian',
  'rhel',
  'centos',
  'fedora',
  'sles',
  'suse',
  'oracle',
  'almalinux',
  'rocky',
  'photon',
  'coreos',
  'amazonlinux',
]
const LINUXISH = /linux|ubuntu|debian|rhel|red ?hat|centos|fedora|suse|sles|oracle|alma|rocky|photon|coreos|mandriva|turbolinux|asianux/i

function osOf(section: XmlElement | undefined): OvfDescriptor['os'] {
  if (!section) return { family: 'other' }
  const osType = attr(section, 'osType')
  const cim = Number(attr(section, 'id'))
  const text = `${osType ?? ''} ${childText(section, 'Description') ?? ''}`
  const family: OsFamily = /(^|[^a-z])win/i.test(text) // "winNetStandardGuest", "Microsoft Windows", not "darwin"
    ? 'windows'
    : LINUXISH.test(text)
      ? 'linux'
      : WINDOWS_CIM.has(cim)
        ? 'windows'
        : LINUX_CIM.has(cim)
          ? 'linux'
          : 'other'
  const distro = DISTROS.find((d) => text.toLowerCase().includes(d))
  const id = osType ?? (Number.isFinite(cim) && attr(section, 'id') ? `cim:${cim}` : undefined)
  return { family, ...optional('id', id), ...optional('distro', distro) }
}
