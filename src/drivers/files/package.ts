import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { GutsError, isGutsError, type DiskDescriptor, type DiskFormat } from '@guts/sdk'
import type { VmEntry } from './catalog.js'
import { checkFileReadable, type DiskLocation } from './disk-probe.js'
import type { OvfDescriptor, OvfDisk } from './ovf.js'
import { findTarMember, listTarMembers, readTarMemberText } from './tar-reader.js'

/** One disk of a VM package, located but not yet probed. */
export interface PackageDisk {
  id: string
  index: number
  name: string
  location: DiskLocation
  /** From the OVF, used when the image itself cannot be probed (preflight still reports why). */
  capacity?: number
  controller?: DiskDescriptor['controller']
  /** The OVF's format hint, for the descriptor of a disk that cannot be probed. */
  formatHint?: DiskFormat
  /** Why this disk cannot be read at all, found without asking qemu-img (e.g. a gzip member). */
  blocker?: GutsError
}

export interface LoadedVm {
  entry: VmEntry
  ovf?: OvfDescriptor
  disks: PackageDisk[]
  /** The `.mf` manifest's name, when the package has one. */
  manifest?: string
  /** Where the VM's files are: the package's directory, or the first disk's. */
  folder: string
  notes: string[]
}

/** Reads a VM's definition (the OVF, the OVA's member list) and locates its disks; no qemu-img yet. */
export async function loadVm(entry: VmEntry, signal?: AbortSignal): Promise<LoadedVm> {
  if (entry.kind === 'disks') {
    return {
      entry,
      folder: dirname(entry.disks[0]!.path),
      notes: [],
      disks: entry.disks.map((d, index) => ({
        id: `disk-${index}`,
        index,
        name: basename(d.path),
        location: { kind: 'file', path: d.path, ...(d.format ? { format: d.format } : {}) },
      })),
    }
  }
  await checkFileReadable(entry.path)
  if (entry.kind === 'ovf') {
    const ovf = (await ovfParser())(await readFile(entry.path, 'utf8'))
    const dir = dirname(entry.path)
    return withOvfDisks(entry, ovf, dir, undefined, (href) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) {
        return new GutsError('GUTS_UNSUPPORTED', `The OVF refers to the remote file ${href}; guts reads local files only.`, {
          suggestions: ['Download the file next to the .ovf and change its ovf:href to the bare file name.'],
          ref: entry.path,
        })
      }
      return { kind: 'file', path: resolve(dir, href) }
    })
  }
  const members = await listTarMembers(entry.path, signal)
  // The OVF spec puts the descriptor first; any .ovf member is accepted for tolerance.
  const descriptor = members.find((m) => m.type === 'file' && /\.ovf$/i.test(m.name))
  if (!descriptor) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `The OVA ${entry.path} contains no .ovf descriptor (members: ${members.map((m) => m.name).join(', ') || 'none'}).`,
      {
        suggestions: ['Check the file with `tar -tvf`; re-export the VM as OVA if the descriptor is missing.'],
        ref: entry.path,
      },
    )
  }
  const ovf = (await ovfParser())(await readTarMemberText(entry.path, descriptor))
  const manifest = members.find((m) => m.type === 'file' && /\.mf$/i.test(m.name))?.name
  return withOvfDisks(entry, ovf, dirname(entry.path), manifest, (href) => {
    const member = findTarMember(members, href)
    if (!member) {
      return new GutsError('GUTS_NOT_FOUND', `The OVA ${entry.path} has no member "${href}", which its descriptor lists as a disk.`, {
        suggestions: ['The OVA is incomplete: re-export or re-download it.'],
        ref: entry.path,
      })
    }
    return { kind: 'ova-member', ova: entry.path, member: member.name, offset: member.offset, size: member.size }
  })
}

function withOvfDisks(
  entry: VmEntry,
  ovf: OvfDescriptor,
  folder: string,
  manifest: string | undefined,
  locate: (href: string) => DiskLocation | GutsError,
): LoadedVm {
  const notes = [...ovf.notes]
  const disks: PackageDisk[] = []
  for (const d of ovf.disks) {
    if (!d.file) {
      // A blank disk (capacity, no file) is created by the hypervisor at import; there is nothing to copy.
      notes.push(`Disk ${d.diskId} has no file (a blank disk) and is not copied; create it at the destination if the VM needs it.`)
      continue
    }
    const index = disks.length
    const located = locate(d.file.href)
    const location: DiskLocation = isGutsError(located) ? { kind: 'file', path: resolve(folder, d.file.href) } : located
    disks.push({
      id: `disk-${index}`,
      index,
      name: d.file.href,
      location,
      ...(d.capacity ? { capacity: d.capacity } : {}),
      ...optionalFormat(formatHint(d)),
      ...(d.controller ? { controller: d.controller } : {}),
      ...(isGutsError(located) ? { blocker: located } : blockerOf(d, entry)),
    })
  }
  return { entry, ovf, disks, folder, notes, ...(manifest ? { manifest } : {}) }
}

function optionalFormat(f: DiskFormat | undefined): { formatHint?: DiskFormat } {
  return f ? { formatHint: f } : {}
}

/** The OVF's format URI is only a hint: qemu-img's probe decides. Kept for the fallback descriptor. */
export function formatHint(d: OvfDisk): DiskFormat | undefined {
  const uri = d.formatUri?.toLowerCase() ?? ''
  if (uri.includes('vmdk')) return 'vmdk'
  if (uri.includes('vhdx')) return 'vhdx'
  if (uri.includes('vhd')) return 'vpc'
  if (uri.includes('qcow')) return 'qcow2'
  return undefined
}

function blockerOf(d: OvfDisk, entry: VmEntry): { blocker?: GutsError } {
  if (d.file?.compression) {
    return {
      blocker: new GutsError(
        'GUTS_UNSUPPORTED',
        `Disk file ${d.file.href} is stored ${d.file.compression}-compressed in the package; guts reads uncompressed disks in place.`,
        {
          suggestions: [
            `Unpack it (tar -xf ${basename(entry.kind === 'disks' ? '' : entry.path)} && gunzip ${d.file.href}.gz) and list the disk under \`vms: [{name, disks: [...]}]\`, or re-export without compression.`,
          ],
          ref: d.file.href,
        },
      ),
    }
  }
  if (d.file?.chunkSize) {
    return {
      blocker: new GutsError(
        'GUTS_UNSUPPORTED',
        `Disk file ${d.file.href} is split into chunks (ovf:chunkSize); guts reads single-file disks.`,
        {
          suggestions: [
            'Concatenate the chunks (cat file.000000000 file.000000001 … > file) and list the disk under `vms:` with `disks:`.',
          ],
          ref: d.file.href,
        },
      ),
    }
  }
  return {}
}

/** The OVF reader (and its XML parser) is loaded only for OVF/OVA VMs: plain disk images never need it. */
async function ovfParser(): Promise<typeof import('./ovf.js').parseOvf> {
  return (await import('./ovf.js')).parseOvf
}
