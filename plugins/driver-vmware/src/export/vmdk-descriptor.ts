/**
 * The text descriptor of a VMDK (the small `disk.vmdk` next to `disk-flat.vmdk`), read to find out
 * whether a snapshot's disk can be read at random offsets through datastore HTTP: only when all
 * its data sits in raw extents (FLAT, VMFS) and it has no parent. Sparse extents (SPARSE,
 * VMFSSPARSE, SESPARSE: what ESXi delta disks are) need a VMDK reader, and a child disk's
 * unwritten grains live in its parent; neither is done here.
 */

const SECTOR = 512

/** One extent line: `RW 33554432 VMFS "disk-flat.vmdk"` or `RW 4192256 FLAT "disk-f001.vmdk" 0`. */
export interface VmdkExtent {
  access: string
  /** Size in bytes. */
  size: number
  type: string
  /** The extent's file, relative to the descriptor's directory (absent for ZERO extents). */
  file?: string
  /** Where the extent starts inside its file, in bytes (FLAT extents may carry one). */
  fileOffset: number
}

export interface VmdkDescriptor {
  createType?: string
  /** `parentCID` other than `ffffffff`: a child (delta) disk whose unwritten data is in its parent. */
  hasParent: boolean
  extents: VmdkExtent[]
}

/** Extent types whose bytes are the raw disk, in order, with no metadata in between. */
const RAW_TYPES = new Set(['FLAT', 'VMFS'])

/** A binary file (a sparse VMDK with an embedded descriptor) starts with one of these magics. */
const BINARY_MAGICS = ['KDMV', 'COWD']

/**
 * Parses a descriptor. Returns undefined for a binary VMDK (monolithic sparse: its descriptor is
 * embedded in the sparse file, which is not raw). Unknown lines are ignored, as VMware does.
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor | undefined {
  if (BINARY_MAGICS.some((m) => text.startsWith(m))) return undefined
  const extents: VmdkExtent[] = []
  let createType: string | undefined
  let parentCid: string | undefined
  let parentHint = false
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const kv = /^([A-Za-z.]+)\s*=\s*"?([^"]*)"?$/.exec(line)
    if (kv) {
      const key = kv[1]!.toLowerCase()
      if (key === 'createtype') createType = kv[2]
      else if (key === 'parentcid') parentCid = kv[2]!.toLowerCase()
      else if (key === 'parentfilenamehint') parentHint = true
      continue
    }
    const ext = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Z]+)(?:\s+"((?:[^"\\]|\\.)*)"(?:\s+(\d+))?)?/.exec(line)
    if (ext) {
      extents.push({
        access: ext[1]!,
        size: Number(ext[2]) * SECTOR,
        type: ext[3]!,
        ...(ext[4] !== undefined ? { file: ext[4] } : {}),
        fileOffset: Number(ext[5] ?? 0) * SECTOR,
      })
    }
  }
  const hasParent = (parentCid !== undefined && parentCid !== 'ffffffff') || parentHint
  return { ...(createType ? { createType } : {}), hasParent, extents }
}

/** True when every byte of the disk is in a raw extent of this descriptor (random access works). */
export function isRawDescriptor(d: VmdkDescriptor | undefined): boolean {
  return (
    !!d &&
    !d.hasParent &&
    d.extents.length > 0 &&
    d.extents.every((e) => RAW_TYPES.has(e.type) && e.file !== undefined && e.access !== 'NOACCESS')
  )
}

/** A piece of a disk range inside one extent file. */
export interface ExtentPiece {
  file: string
  /** Byte offset in the extent file. */
  offset: number
  length: number
}

/**
 * `[offset, offset + length)` of the disk as reads of extent files, in order. Throws a RangeError
 * when the range goes past the extents' total size.
 */
export function mapRange(d: VmdkDescriptor, offset: number, length: number): ExtentPiece[] {
  const pieces: ExtentPiece[] = []
  let start = 0
  let want = offset
  let left = length
  for (const e of d.extents) {
    if (left <= 0) break
    const end = start + e.size
    if (want < end) {
      const n = Math.min(left, end - want)
      pieces.push({ file: e.file!, offset: e.fileOffset + (want - start), length: n })
      want += n
      left -= n
    }
    start = end
  }
  if (left > 0) throw new RangeError(`range ${offset}+${length} goes past the disk's ${start} bytes`)
  return pieces
}
