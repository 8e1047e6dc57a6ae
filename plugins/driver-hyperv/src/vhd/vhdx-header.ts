import { crc32cWithZeroedField } from './crc32c.js'
import { diskError } from './disk-error.js'
import { formatGuid, isZeroGuid } from './guid.js'
import { readStructure, type RandomAccessFile } from './random-access.js'

/**
 * The VHDX header section (MS-VHDX 2.2): the file type identifier at 0, two headers at 64 KiB and
 * 128 KiB, two copies of the region table at 192 KiB and 256 KiB.
 */
const KiB = 1024
const HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const
const HEADER_SIZE = 4 * KiB
const REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const
const REGION_TABLE_SIZE = 64 * KiB
const REGION_ENTRY_MAX = 2047

/** MS-VHDX 2.2.3.1: the two regions a reader must know. */
export const BAT_REGION = '{2dc27766-f623-4200-9d64-115e9bfd4a08}'
export const METADATA_REGION = '{8b7ca206-4790-4b9a-b8fe-575f050f886e}'

export interface VhdxHeader {
  sequenceNumber: bigint
  fileWriteGuid: string
  dataWriteGuid: string
  logGuid: string | undefined
}

export interface VhdxRegion {
  fileOffset: number
  length: number
}

export interface VhdxHeaderSection {
  header: VhdxHeader
  bat: VhdxRegion
  metadata: VhdxRegion
}

/** True when the file starts with the VHDX file type identifier (MS-VHDX 2.2.1). */
export function isVhdxSignature(first8: Buffer): boolean {
  return first8.subarray(0, 8).toString('latin1') === 'vhdxfile'
}

/**
 * `allowLog` reads a file whose log is not empty as its headers stand (for the parent locator of
 * a running VM's leaf, which pending log entries change only when the disk is re-parented).
 */
export async function readVhdxHeaderSection(file: RandomAccessFile, signal?: AbortSignal, allowLog = false): Promise<VhdxHeaderSection> {
  const id = await readStructure(file, 0, 8, 'VHDX file type identifier', signal)
  if (!isVhdxSignature(id)) throw diskError(file, 'the file does not start with the VHDX signature "vhdxfile": it is not a VHDX')
  const header = currentHeader(
    file,
    await Promise.all(HEADER_OFFSETS.map((at) => readStructure(file, at, HEADER_SIZE, 'VHDX header', signal))),
  )
  if (header.logGuid && !allowLog) {
    // Replaying the log (MS-VHDX 2.3.3) would mean overlaying its sectors on every read of a file
    // we may not write. A file with a live log is one Hyper-V still has open for writing (a
    // running VM's leaf) or one a crash left behind: either way not a stable source to copy, so
    // refuse and say how to get a clean one. qemu-img closes the files it writes with LogGuid zero.
    throw diskError(file, `the VHDX log is not empty (LogGuid ${header.logGuid}): the file is open for writing or was not closed cleanly`, [
      'Copy from a checkpoint, or shut the VM down, so that Hyper-V closes the file.',
      'After a crash, open the disk read-write once on the host (Mount-VHD -Path …, then Dismount-VHD -Path …) so Hyper-V replays its log.',
    ])
  }
  return { header, ...(await readRegionTable(file, signal)) }
}

/** MS-VHDX 2.2.2.1: of the headers whose signature and CRC-32C check out, the one with the higher SequenceNumber. */
function currentHeader(file: RandomAccessFile, blocks: Buffer[]): VhdxHeader {
  const valid = blocks.map((b) => (validHeader(b) ? b : undefined))
  const [h1, h2] = valid
  if (!h1 && !h2) throw diskError(file, 'neither VHDX header has a valid signature and checksum: the file is damaged or not a VHDX')
  let chosen: Buffer
  if (h1 && h2) {
    const s1 = h1.readBigUInt64LE(8)
    const s2 = h2.readBigUInt64LE(8)
    // Equal sequence numbers are only sound when the headers are identical (Disk2VHD writes such files).
    if (s1 === s2 && !h1.equals(h2))
      throw diskError(file, 'the two VHDX headers differ but have the same sequence number: the file is damaged')
    chosen = s2 > s1 ? h2 : h1
  } else chosen = (h1 ?? h2)!
  const version = chosen.readUInt16LE(66)
  if (version !== 1) throw diskError(file, `the VHDX header has version ${version}; only version 1 is defined`)
  return {
    sequenceNumber: chosen.readBigUInt64LE(8),
    fileWriteGuid: formatGuid(chosen, 16),
    dataWriteGuid: formatGuid(chosen, 32),
    logGuid: isZeroGuid(chosen, 48) ? undefined : formatGuid(chosen, 48),
  }
}

function validHeader(b: Buffer): boolean {
  return b.toString('latin1', 0, 4) === 'head' && b.readUInt32LE(4) === crc32cWithZeroedField(b, 4)
}

/** MS-VHDX 2.2.3: the first region table whose signature and checksum check out. */
async function readRegionTable(file: RandomAccessFile, signal?: AbortSignal): Promise<{ bat: VhdxRegion; metadata: VhdxRegion }> {
  for (const at of REGION_TABLE_OFFSETS) {
    const table = await readStructure(file, at, REGION_TABLE_SIZE, 'VHDX region table', signal)
    if (table.toString('latin1', 0, 4) === 'regi' && table.readUInt32LE(4) === crc32cWithZeroedField(table, 4)) {
      return parseRegionTable(file, table)
    }
  }
  throw diskError(file, 'neither copy of the VHDX region table has a valid signature and checksum: the file is damaged')
}

function parseRegionTable(file: RandomAccessFile, table: Buffer): { bat: VhdxRegion; metadata: VhdxRegion } {
  const count = table.readUInt32LE(8)
  if (count > REGION_ENTRY_MAX)
    throw diskError(file, `the VHDX region table claims ${count} entries (at most ${REGION_ENTRY_MAX}): the file is damaged`)
  const regions = new Map<string, VhdxRegion>()
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 32
    const guid = formatGuid(table, at)
    const region = { fileOffset: readU64(table, at + 16), length: table.readUInt32LE(at + 24) }
    const required = (table.readUInt32LE(at + 28) & 1) === 1
    if (guid !== BAT_REGION && guid !== METADATA_REGION && required) {
      throw diskError(file, `the VHDX has a required region ${guid} this reader does not know`)
    }
    if (region.fileOffset + region.length > file.size) {
      throw diskError(file, `the VHDX region ${guid} ends past the end of the file: the file is truncated or damaged`)
    }
    regions.set(guid, region)
  }
  const bat = regions.get(BAT_REGION)
  const metadata = regions.get(METADATA_REGION)
  if (!bat || !metadata) throw diskError(file, 'the VHDX region table lacks the BAT or the metadata region: the file is damaged')
  return { bat, metadata }
}

/** A little-endian 64-bit offset as a number (VHDX files stay far below 2^53 bytes). */
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 2 ** 32
}
