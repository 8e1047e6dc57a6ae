import { diskError } from './disk-error.js'
import type { BlockClass, DiskLayer, DiskFileInfo, Run } from './layer.js'
import { readStructure, readTable, type RandomAccessFile } from './random-access.js'
import { BitmapCache, bitmapRuns } from './sector-bitmap.js'
import { readVhdxHeaderSection } from './vhdx-header.js'
import { readVhdxMetadata, type VhdxMetadata } from './vhdx-metadata.js'

/**
 * MS-VHDX 2.5.1.1 payload block states. The others read as zeros: UNDEFINED 1, ZERO 2, UNMAPPED 3,
 * and 5, which the 0.95 draft called UNMAPPED (qemu reads it as zeros too); 4 is reserved.
 */
const NOT_PRESENT = 0
const RESERVED = 4
const FULLY_PRESENT = 6
const PARTIALLY_PRESENT = 7
/** MS-VHDX 2.5.1.2 sector bitmap block state. */
const SB_BLOCK_PRESENT = 6

const MiB = 1024 * 1024
/** MS-VHDX 2.4.2: a sector bitmap block describes 2^23 sectors (1 MiB of bits). */
const SECTORS_PER_BITMAP_BLOCK = 2 ** 23

/**
 * Opens one VHDX file: headers, region table, metadata, BAT (MS-VHDX 2.2-2.6).
 *
 * Block states on read: FULLY_PRESENT from this file; PARTIALLY_PRESENT (differencing only) per
 * sector from this file or the parent, by the sector bitmap; NOT_PRESENT from the parent in a
 * differencing disk, zeros otherwise. ZERO, UNDEFINED and UNMAPPED read as zeros in every file
 * type: the spec defines them "for all VHDX file types" with contents that are zero or that the
 * guest has given up (UNMAPPED: "return zero data" is one of the allowed behaviours), and never
 * sends them to the parent — a trimmed block of a child must not resurrect the parent's data.
 */
export async function openVhdxLayer(file: RandomAccessFile, signal?: AbortSignal): Promise<DiskLayer> {
  const section = await readVhdxHeaderSection(file, signal)
  const meta = await readVhdxMetadata(file, section.metadata, signal)
  const geometry = batGeometry(meta)
  const batBytes = geometry.entries * 8
  if (section.bat.length < batBytes)
    throw diskError(
      file,
      `the VHDX BAT region (${section.bat.length} bytes) is too small for ${geometry.entries} entries: the file is damaged`,
    )
  const bat = await readTable(file, section.bat.fileOffset, batBytes, 'VHDX BAT', signal)
  const info: DiskFileInfo = {
    name: file.name,
    format: 'vhdx',
    type: meta.hasParent ? 'differencing' : meta.leaveBlockAllocated ? 'fixed' : 'dynamic',
    virtualSize: meta.virtualSize,
    blockSize: meta.blockSize,
    logicalSectorSize: meta.logicalSectorSize,
    physicalSectorSize: meta.physicalSectorSize,
    identity: section.header.dataWriteGuid,
    ...(meta.parentLocator ? { parentLocator: meta.parentLocator } : {}),
  }
  const layer = new VhdxLayer(file, info, meta, geometry, bat)
  layer.validate()
  return layer
}

interface BatGeometry {
  payloadBlocks: number
  chunkRatio: number
  entries: number
}

/** MS-VHDX 2.5: chunk ratio = 2^23 * LogicalSectorSize / BlockSize; a sector bitmap entry follows every chunk's payload entries. */
function batGeometry(meta: VhdxMetadata): BatGeometry {
  const chunkRatio = (SECTORS_PER_BITMAP_BLOCK * meta.logicalSectorSize) / meta.blockSize
  const payloadBlocks = Math.ceil(meta.virtualSize / meta.blockSize)
  const bitmapBlocks = Math.ceil(payloadBlocks / chunkRatio)
  // A differencing BAT reaches the sector bitmap entry of the last chunk; the others end at the last payload entry.
  const entries = meta.hasParent ? bitmapBlocks * (chunkRatio + 1) : payloadBlocks + Math.floor(Math.max(0, payloadBlocks - 1) / chunkRatio)
  return { payloadBlocks, chunkRatio, entries }
}

class VhdxLayer implements DiskLayer {
  readonly blockCount: number
  private readonly bitmaps = new BitmapCache()
  private readonly sectorsPerBlock: number

  constructor(
    readonly file: RandomAccessFile,
    readonly info: DiskFileInfo,
    private readonly meta: VhdxMetadata,
    private readonly geometry: BatGeometry,
    private readonly bat: Buffer,
  ) {
    this.blockCount = geometry.payloadBlocks
    this.sectorsPerBlock = meta.blockSize / meta.logicalSectorSize
  }

  private entryIndex(block: number): number {
    return block + Math.floor(block / this.geometry.chunkRatio)
  }

  private state(entry: number): number {
    return this.bat[entry * 8]! & 7
  }

  /** FileOffsetMB: bits 20-63 of the entry, in MiB. */
  private fileOffset(entry: number): number {
    const at = entry * 8
    return ((this.bat.readUInt32LE(at) >>> 20) + this.bat.readUInt32LE(at + 4) * 2 ** 12) * MiB
  }

  blockClass(index: number): BlockClass {
    const state = this.state(this.entryIndex(index))
    if (state === FULLY_PRESENT || state === PARTIALLY_PRESENT) return 'data'
    return state === NOT_PRESENT && this.meta.hasParent ? 'parent' : 'zero'
  }

  mapInBlock(index: number, within: number, length: number, signal?: AbortSignal): Run[] | Promise<Run[]> {
    const entry = this.entryIndex(index)
    const state = this.state(entry)
    if (state === FULLY_PRESENT) return [{ kind: 'data', length, fileOffset: this.fileOffset(entry) + within }]
    if (state === PARTIALLY_PRESENT) return this.mapPartial(index, entry, within, length, signal)
    return [{ kind: state === NOT_PRESENT && this.meta.hasParent ? 'parent' : 'zero', length }]
  }

  private async mapPartial(index: number, entry: number, within: number, length: number, signal?: AbortSignal): Promise<Run[]> {
    const bitmap = await this.bitmaps.get(index, () => this.readBlockBitmap(index, signal))
    return bitmapRuns(bitmap, 'lsb', this.meta.logicalSectorSize, within, length, this.fileOffset(entry))
  }

  /** The slice of the chunk's sector bitmap block that covers payload block `index` (MS-VHDX 2.4.2). */
  private readBlockBitmap(index: number, signal?: AbortSignal): Promise<Buffer> {
    const chunk = Math.floor(index / this.geometry.chunkRatio)
    const sbEntry = chunk * (this.geometry.chunkRatio + 1) + this.geometry.chunkRatio
    const firstBit = (index % this.geometry.chunkRatio) * this.sectorsPerBlock
    return readStructure(this.file, this.fileOffset(sbEntry) + firstBit / 8, this.sectorsPerBlock / 8, 'VHDX sector bitmap', signal)
  }

  /** Checks every BAT entry once at open, so a damaged table fails here and not in the middle of a copy. */
  validate(): void {
    const { blockSize, virtualSize, hasParent } = this.meta
    for (let block = 0; block < this.blockCount; block++) {
      const entry = this.entryIndex(block)
      const state = this.state(entry)
      if (state === RESERVED || (state === PARTIALLY_PRESENT && !hasParent)) {
        throw diskError(
          this.file,
          `VHDX BAT entry ${entry} has state ${state}, which is not valid in a ${this.info.type} disk: the file is damaged`,
        )
      }
      if (state === FULLY_PRESENT || state === PARTIALLY_PRESENT) {
        const needed = Math.min(blockSize, virtualSize - block * blockSize)
        this.checkInFile(entry, needed, `payload block ${block}`)
      }
      if (state === PARTIALLY_PRESENT) {
        const sbEntry = Math.floor(block / this.geometry.chunkRatio) * (this.geometry.chunkRatio + 1) + this.geometry.chunkRatio
        if (this.state(sbEntry) !== SB_BLOCK_PRESENT) {
          throw diskError(this.file, `payload block ${block} is partially present but its sector bitmap block is not: the file is damaged`)
        }
        this.checkInFile(sbEntry, MiB, `the sector bitmap block for payload block ${block}`)
      }
    }
  }

  private checkInFile(entry: number, length: number, what: string): void {
    const at = this.fileOffset(entry)
    if (at < MiB || at + length > this.file.size) {
      throw diskError(this.file, `${what} is at byte ${at}, outside the file (${this.file.size} bytes): the file is truncated or damaged`)
    }
  }
}
