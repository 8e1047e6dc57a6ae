import { diskError } from './disk-error.js'
import { formatGuid } from './guid.js'
import type { ParentLocator } from './layer.js'
import { readStructure, type RandomAccessFile } from './random-access.js'

/**
 * The structures of the Microsoft "Virtual Hard Disk Image Format Specification" (VHD 1.0, qemu's
 * "vpc"): a 512-byte footer at the end of every file (a copy at 0 in dynamic and differencing
 * disks), and for those a 1024-byte dynamic disk header. All fields are big-endian.
 */
export const FOOTER_SIZE = 512
const HEADER_SIZE = 1024
export const DISK_FIXED = 2
export const DISK_DYNAMIC = 3
export const DISK_DIFFERENCING = 4
/** The largest CHS geometry: qemu (and Virtual PC) take Current Size instead of CHS for it. */
const MAX_CHS_SECTORS = 65535 * 16 * 255

export interface VhdFooter {
  dataOffset: number | undefined
  creatorApp: string
  currentSize: number
  chsSectors: number
  diskType: number
  uniqueId: string
}

export interface VhdDynamicHeader {
  tableOffset: number
  maxTableEntries: number
  blockSize: number
  parentUniqueId: string
  parentName: string
  locators: { code: string; dataLength: number; dataOffset: number }[]
}

/** VHD spec, "Checksum": the one's complement of the sum of all bytes, the checksum field taken as zero. */
export function vhdChecksum(buf: Buffer, fieldOffset: number): number {
  let sum = 0
  for (let i = 0; i < buf.length; i++) if (i < fieldOffset || i >= fieldOffset + 4) sum += buf[i]!
  return ~sum >>> 0
}

function readU64BE(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 2 ** 32 + buf.readUInt32BE(at + 4)
}

export function isVhdFooter(buf: Buffer): boolean {
  return buf.toString('latin1', 0, 8) === 'conectix'
}

/** The footer at the end, else (dynamic disks only) its copy at 0, whichever checks out first. */
export async function readVhdFooter(file: RandomAccessFile, signal?: AbortSignal): Promise<VhdFooter> {
  if (file.size < FOOTER_SIZE) throw diskError(file, `the file has ${file.size} bytes: it is neither a VHDX nor a VHD`)
  const atEnd = await readStructure(file, file.size - FOOTER_SIZE, FOOTER_SIZE, 'VHD footer', signal)
  if (validFooter(atEnd)) return parseFooter(atEnd)
  const copy = await readStructure(file, 0, FOOTER_SIZE, 'VHD footer copy', signal)
  if (validFooter(copy) && copy.readUInt32BE(60) !== DISK_FIXED) return parseFooter(copy)
  if (isVhdFooter(atEnd) || isVhdFooter(copy)) throw diskError(file, 'the VHD footer checksum does not match: the file is damaged')
  throw diskError(file, 'the file is neither a VHDX (it does not start with "vhdxfile") nor a VHD (it has no "conectix" footer)')
}

function validFooter(b: Buffer): boolean {
  return isVhdFooter(b) && b.readUInt32BE(64) === vhdChecksum(b, 64)
}

function parseFooter(b: Buffer): VhdFooter {
  const dataOffsetHi = b.readUInt32BE(16)
  return {
    dataOffset: dataOffsetHi === 0xffffffff ? undefined : readU64BE(b, 16),
    creatorApp: b.toString('latin1', 28, 32),
    currentSize: readU64BE(b, 48),
    chsSectors: b.readUInt16BE(56) * b[58]! * b[59]!,
    diskType: b.readUInt32BE(60),
    uniqueId: formatGuid(b, 68),
  }
}

/**
 * The guest-visible size. Hyper-V and the spec use Current Size; Virtual PC and qemu (creator
 * "qemu", before qemu 2.5 started writing "qem2") sized disks by their CHS geometry, so qemu reads
 * those two by CHS (block/vpc.c, vpc_ignore_current_size) unless the geometry is the maximum. We
 * match qemu, the oracle of our tests and the tool that would read the same file otherwise.
 */
export function vhdVirtualSize(footer: VhdFooter): number {
  const byChs = footer.creatorApp === 'vpc ' || footer.creatorApp === 'qemu'
  return byChs && footer.chsSectors !== MAX_CHS_SECTORS ? footer.chsSectors * 512 : footer.currentSize
}

export async function readVhdDynamicHeader(file: RandomAccessFile, at: number, signal?: AbortSignal): Promise<VhdDynamicHeader> {
  const b = await readStructure(file, at, HEADER_SIZE, 'VHD dynamic disk header', signal)
  if (b.toString('latin1', 0, 8) !== 'cxsparse')
    throw diskError(file, 'the VHD dynamic disk header has no "cxsparse" signature: the file is damaged')
  if (b.readUInt32BE(36) !== vhdChecksum(b, 36))
    throw diskError(file, 'the VHD dynamic disk header checksum does not match: the file is damaged')
  const locators: VhdDynamicHeader['locators'] = []
  for (let i = 0; i < 8; i++) {
    const e = 576 + i * 24
    const code = b.toString('latin1', e, e + 4)
    if (b.readUInt32BE(e) !== 0) locators.push({ code, dataLength: b.readUInt32BE(e + 8), dataOffset: readU64BE(b, e + 16) })
  }
  return {
    tableOffset: readU64BE(b, 16),
    maxTableEntries: b.readUInt32BE(28),
    blockSize: b.readUInt32BE(32),
    parentUniqueId: formatGuid(b, 40),
    parentName: utf16be(b.subarray(64, 576)),
    locators,
  }
}

/** Parent Unicode Name is UTF-16 big-endian, NUL-padded. */
function utf16be(b: Buffer): string {
  const swapped = Buffer.from(b).swap16()
  return swapped.toString('utf16le').replace(/\0+$/, '')
}

/**
 * VHD spec, "Parent Locator Entry": W2ru (relative) and W2ku (absolute) hold UTF-16LE Windows
 * paths, MacX a UTF-8 file URL; Wi2r/Wi2k (deprecated, ANSI) and Mac (an alias blob) are skipped.
 */
export async function readVhdParentLocator(file: RandomAccessFile, header: VhdDynamicHeader, signal?: AbortSignal): Promise<ParentLocator> {
  const entries: Record<string, string> = {}
  for (const l of header.locators) {
    const encoding = l.code === 'W2ru' || l.code === 'W2ku' ? 'utf16le' : l.code === 'MacX' ? 'utf8' : undefined
    if (!encoding || l.dataLength === 0) continue
    const data = await readStructure(file, l.dataOffset, l.dataLength, `VHD parent locator ${l.code}`, signal)
    entries[l.code] = data.toString(encoding).replace(/\0+$/, '')
  }
  const paths: ParentLocator['paths'] = []
  if (entries.W2ru) paths.push({ kind: 'relative', path: entries.W2ru })
  if (entries.W2ku) paths.push({ kind: 'absolute', path: entries.W2ku })
  if (header.parentName) entries.parentUnicodeName = header.parentName
  return { format: 'vpc', linkage: [header.parentUniqueId], paths, entries }
}
