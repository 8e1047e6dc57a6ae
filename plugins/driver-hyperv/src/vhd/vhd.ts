import { diskError } from './disk-error.js'
import type { BlockClass, DiskFileInfo, DiskLayer, Run } from './layer.js'
import { readStructure, readTable, type RandomAccessFile } from './random-access.js'
import { BitmapCache, bitmapRuns } from './sector-bitmap.js'
import {
  DISK_DIFFERENCING,
  DISK_DYNAMIC,
  DISK_FIXED,
  FOOTER_SIZE,
  readVhdDynamicHeader,
  readVhdFooter,
  readVhdParentLocator,
  vhdVirtualSize,
  type VhdDynamicHeader,
} from './vhd-format.js'

const SECTOR = 512
const UNALLOCATED = 0xffffffff
/** A fixed VHD has no blocks; its extents and mapping use this unit, the VHD default block size. */
const FIXED_UNIT = 2 * 1024 * 1024

/**
 * Opens one VHD file. Fixed: the data is the file up to the footer. Dynamic: the BAT holds each
 * block's sector offset (0xFFFFFFFF = not allocated, reads as zeros); a block is its sector bitmap
 * (padded to 512 bytes) then its data. The bitmap of a dynamic disk is not consulted: Hyper-V and
 * qemu read an allocated block whole. Differencing: unallocated blocks and sectors whose bitmap
 * bit is 0 come from the parent.
 */
export async function openVhdLayer(file: RandomAccessFile, signal?: AbortSignal): Promise<DiskLayer> {
  const footer = await readVhdFooter(file, signal)
  const virtualSize = vhdVirtualSize(footer)
  const base = {
    name: file.name,
    format: 'vpc' as const,
    virtualSize,
    logicalSectorSize: SECTOR,
    physicalSectorSize: SECTOR,
    identity: footer.uniqueId,
  }
  if (footer.diskType === DISK_FIXED) {
    return new FixedVhdLayer(file, { ...base, type: 'fixed', blockSize: FIXED_UNIT })
  }
  if (footer.diskType !== DISK_DYNAMIC && footer.diskType !== DISK_DIFFERENCING) {
    throw diskError(file, `the VHD disk type is ${footer.diskType}; guts reads fixed (2), dynamic (3) and differencing (4) disks`)
  }
  if (footer.dataOffset === undefined)
    throw diskError(file, 'the VHD is dynamic but its footer points to no dynamic disk header: the file is damaged')
  const header = await readVhdDynamicHeader(file, footer.dataOffset, signal)
  const differencing = footer.diskType === DISK_DIFFERENCING
  checkHeader(file, header, virtualSize)
  const bat = await readTable(file, header.tableOffset, header.maxTableEntries * 4, 'VHD block allocation table', signal)
  const info: DiskFileInfo = {
    ...base,
    type: differencing ? 'differencing' : 'dynamic',
    blockSize: header.blockSize,
    ...(differencing ? { parentLocator: await readVhdParentLocator(file, header, signal) } : {}),
  }
  const layer = new DynamicVhdLayer(file, info, header, bat, differencing)
  layer.validate()
  return layer
}

function checkHeader(file: RandomAccessFile, h: VhdDynamicHeader, virtualSize: number): void {
  if (h.blockSize < SECTOR * 8 || (h.blockSize & (h.blockSize - 1)) !== 0) {
    throw diskError(file, `the VHD block size ${h.blockSize} is not a power of two of at least 4096 bytes: the file is damaged`)
  }
  if (h.maxTableEntries * h.blockSize < virtualSize) {
    throw diskError(
      file,
      `the VHD block allocation table (${h.maxTableEntries} blocks of ${h.blockSize} bytes) does not cover the disk's ${virtualSize} bytes: the file is damaged`,
    )
  }
}

class FixedVhdLayer implements DiskLayer {
  readonly blockCount: number
  /** Bytes of data before the footer; a CHS-sized disk may claim a little more, which reads as zeros. */
  private readonly dataSize: number

  constructor(
    readonly file: RandomAccessFile,
    readonly info: DiskFileInfo,
  ) {
    this.blockCount = Math.ceil(info.virtualSize / FIXED_UNIT)
    this.dataSize = Math.min(info.virtualSize, file.size - FOOTER_SIZE)
  }

  blockClass(index: number): BlockClass {
    return index * FIXED_UNIT < this.dataSize ? 'data' : 'zero'
  }

  mapInBlock(index: number, within: number, length: number): Run[] {
    const at = index * FIXED_UNIT + within
    const inFile = Math.max(0, Math.min(length, this.dataSize - at))
    const runs: Run[] = inFile > 0 ? [{ kind: 'data', length: inFile, fileOffset: at }] : []
    if (inFile < length) runs.push({ kind: 'zero', length: length - inFile })
    return runs
  }
}

class DynamicVhdLayer implements DiskLayer {
  readonly blockCount: number
  private readonly bitmapBytes: number
  private readonly bitmaps = new BitmapCache()

  constructor(
    readonly file: RandomAccessFile,
    readonly info: DiskFileInfo,
    private readonly header: VhdDynamicHeader,
    private readonly bat: Buffer,
    private readonly differencing: boolean,
  ) {
    this.blockCount = Math.ceil(info.virtualSize / header.blockSize)
    // VHD spec, "Block Allocation Table and Data Blocks": one bit per sector, padded to a 512-byte boundary.
    this.bitmapBytes = Math.ceil(header.blockSize / SECTOR / 8 / SECTOR) * SECTOR
  }

  private entry(index: number): number {
    return this.bat.readUInt32BE(index * 4)
  }

  blockClass(index: number): BlockClass {
    if (this.entry(index) !== UNALLOCATED) return 'data'
    return this.differencing ? 'parent' : 'zero'
  }

  mapInBlock(index: number, within: number, length: number, signal?: AbortSignal): Run[] | Promise<Run[]> {
    const sector = this.entry(index)
    if (sector === UNALLOCATED) return [{ kind: this.differencing ? 'parent' : 'zero', length }]
    const dataOffset = sector * SECTOR + this.bitmapBytes
    if (!this.differencing) return [{ kind: 'data', length, fileOffset: dataOffset + within }]
    return this.bitmaps
      .get(index, () => readStructure(this.file, sector * SECTOR, this.bitmapBytes, 'VHD block bitmap', signal))
      .then((bitmap) => bitmapRuns(bitmap, 'msb', SECTOR, within, length, dataOffset))
  }

  /** Every allocated block must lie before the footer; checked once at open. */
  validate(): void {
    const { blockSize } = this.header
    for (let index = 0; index < this.blockCount; index++) {
      const sector = this.entry(index)
      if (sector === UNALLOCATED) continue
      const end = sector * SECTOR + this.bitmapBytes + Math.min(blockSize, this.info.virtualSize - index * blockSize)
      if (end > this.file.size - FOOTER_SIZE) {
        throw diskError(
          this.file,
          `VHD block ${index} (at sector ${sector}) extends past the footer of the file: the file is truncated or damaged`,
        )
      }
    }
  }
}
