import { constants } from 'node:fs'
import { access, open, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { GutsError, isGutsError, type DiskFormat } from '@guts/sdk'
import { asDiskFormat, qemuByteRangePath, qemuImgInfo } from '../../tools/qemu-img.js'

/** What the files driver learned about one disk image, and how qemu-img must be pointed at it. */
export interface ProbedDisk {
  /** A real path, or a qemu-img `json:` path for a disk inside an OVA (see ova-disk.ts). */
  path: string
  format: DiskFormat
  virtualSize: number
  allocatedSize?: number
  subformat?: string
}

/** Where a disk's bytes are: a file of its own, or a byte range of an OVA. */
export type DiskLocation =
  | { kind: 'file'; path: string; format?: DiskFormat }
  | { kind: 'ova-member'; ova: string; member: string; offset: number; size: number; format?: DiskFormat }

const VMDK_EXTENT = /^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"]+)"/gm

function describe(location: DiskLocation): string {
  return location.kind === 'file' ? location.path : `${location.member} in ${location.ova}`
}

/**
 * Checks that a disk can be read and finds its format and size with `qemu-img info`. Refuses, with
 * GutsErrors that say what to do: missing or unreadable files, VMDK descriptors whose extents are
 * missing, images with a backing file (qcow2 overlays, VMDK snapshot deltas), unknown formats.
 */
export async function probeDisk(location: DiskLocation, signal?: AbortSignal): Promise<ProbedDisk> {
  // describe, preflight and beginExport each probe every disk: remember the answer for as long as
  // the file is the same one (inode, size and mtime), so qemu-img runs once per disk, not thrice.
  const file = location.kind === 'file' ? location.path : location.ova
  const st = await stat(file).catch(() => undefined)
  const key = st ? `${JSON.stringify(location)}|${st.ino}|${st.size}|${st.mtimeMs}` : undefined
  const cached = key ? probeCache.get(key) : undefined
  if (cached) return cached
  const probed = await probeUncached(location, signal)
  if (key) probeCache.set(key, probed)
  return probed
}

const probeCache = new Map<string, ProbedDisk>()

async function probeUncached(location: DiskLocation, signal?: AbortSignal): Promise<ProbedDisk> {
  const where = describe(location)
  if (location.kind === 'file') await checkFileReadable(location.path)
  if (location.kind === 'file') await checkVmdkDescriptor(location.path)
  const probePath = location.kind === 'file' ? location.path : qemuByteRangePath(location.ova, location.offset, location.size)
  let info
  try {
    info = await qemuImgInfo(probePath, { ...(location.format ? { format: location.format } : {}), ...(signal ? { signal } : {}) })
  } catch (error) {
    if (isGutsError(error) && error.code !== 'GUTS_EXTERNAL_COMMAND_FAILED') throw error
    throw new GutsError('GUTS_UNSUPPORTED', `qemu-img cannot read the disk ${where}${location.format ? ` as ${location.format}` : ''}.`, {
      suggestions: [
        location.format
          ? `Check the declared format (${location.format}) or remove it to let guts detect the format.`
          : 'Check that the file is a raw, qcow2, VMDK, VHDX or VHD image.',
        location.kind === 'ova-member'
          ? 'A VMDK inside an OVA must be a single-file image (streamOptimized or monolithicSparse).'
          : 'Run `qemu-img info <file>` to see what qemu-img says.',
      ],
      cause: error,
      ref: where,
    })
  }
  const format = toFormat(info.format, where)
  if (info.backingFile) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `The disk ${where} is an overlay on the backing file ${info.backingFile}; guts copies self-contained images only.`,
      {
        suggestions: [
          `Flatten it first: qemu-img convert -O ${format === 'vmdk' ? 'vmdk' : 'qcow2'} ${location.kind === 'file' ? location.path : '<disk>'} flat-disk.${format === 'vmdk' ? 'vmdk' : 'qcow2'}`,
          'Then point the plan at the flattened file.',
        ],
        ref: where,
      },
    )
  }
  if (!(info.virtualSize > 0)) {
    throw new GutsError(
      'GUTS_UNSUPPORTED',
      `The disk ${where} has a virtual size of ${info.virtualSize} bytes; guts needs a non-empty disk.`,
      { ref: where },
    )
  }
  const path = location.kind === 'file' ? location.path : qemuByteRangePath(location.ova, location.offset, location.size, format)
  return {
    path,
    format,
    virtualSize: info.virtualSize,
    ...(info.actualSize !== undefined && location.kind === 'file' ? { allocatedSize: info.actualSize } : {}),
    ...(info.subformat ? { subformat: info.subformat } : {}),
  }
}

function toFormat(format: string, where: string): DiskFormat {
  try {
    return asDiskFormat(format)
  } catch (error) {
    throw new GutsError('GUTS_UNSUPPORTED', `The disk ${where} is in ${format} format; guts reads raw, qcow2, vmdk, vhdx and vpc (VHD).`, {
      suggestions: [`Convert it first: qemu-img convert -O qcow2 <disk> disk.qcow2`],
      cause: error,
      ref: where,
    })
  }
}

export async function checkFileReadable(path: string): Promise<void> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GutsError('GUTS_NOT_FOUND', `The file ${path} does not exist.`, {
        suggestions: ["Fix the path in the plan (relative paths resolve against the plan's directory), or copy the file there."],
        ref: path,
        cause: error,
      })
    }
    throw new GutsError('GUTS_PREFLIGHT_FAILED', `Cannot look at ${path}: ${(error as Error).message}.`, { ref: path, cause: error })
  }
  if (!info.isFile()) throw new GutsError('GUTS_UNSUPPORTED', `${path} is not a regular file.`, { ref: path })
  try {
    await access(path, constants.R_OK)
  } catch (error) {
    throw new GutsError('GUTS_PREFLIGHT_FAILED', `${path} is not readable by this user.`, {
      suggestions: [`Grant read access (chmod a+r ${path}) or run guts as a user that can read it.`],
      ref: path,
      cause: error,
    })
  }
}

/**
 * A descriptor-only VMDK (monolithicFlat, twoGbMaxExtent*, vmfs) keeps its data in extent files
 * next to it. qemu-img's own error names only the first missing one, so they are checked here,
 * all at once, and snapshot deltas (parentFileNameHint) are refused before qemu-img is asked.
 */
async function checkVmdkDescriptor(path: string): Promise<void> {
  const fh = await open(path, 'r')
  let head: string
  try {
    const buf = Buffer.alloc(4096)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
    head = buf.subarray(0, bytesRead).toString('latin1')
  } finally {
    await fh.close()
  }
  if (!head.startsWith('# Disk DescriptorFile')) return
  const parent = /^\s*parentFileNameHint\s*=\s*"([^"]+)"/m.exec(head)
  if (parent) {
    throw new GutsError('GUTS_UNSUPPORTED', `The VMDK ${path} is a snapshot delta of ${parent[1]}; guts copies consolidated disks only.`, {
      suggestions: [
        "Delete or consolidate the VM's snapshots before exporting, or convert the chain: qemu-img convert -O vmdk <delta.vmdk> flat.vmdk",
      ],
      ref: path,
    })
  }
  const missing: string[] = []
  for (const m of head.matchAll(VMDK_EXTENT)) {
    const extent = resolve(dirname(path), m[1]!)
    try {
      await access(extent, constants.R_OK)
    } catch {
      missing.push(extent)
    }
  }
  if (missing.length) {
    throw new GutsError(
      'GUTS_NOT_FOUND',
      `The VMDK descriptor ${path} points at extent file(s) that are missing or unreadable: ${missing.join(', ')}.`,
      {
        suggestions: [
          'Copy the -flat.vmdk / -sNNN.vmdk extent files next to the descriptor, keeping their names.',
          'Or export the disk as a single file (monolithicSparse or streamOptimized).',
        ],
        ref: path,
        details: { missing },
      },
    )
  }
}
