import { usageError } from './disk-error.js'
import type { DiskFileInfo, DiskFormat, DiskLayer } from './layer.js'
import type { RandomAccessFile } from './random-access.js'

/** A byte range of the virtual disk. */
export interface Extent {
  offset: number
  length: number
}

/** The raw, guest-visible disk a chain of VHDX or VHD files describes. */
export interface VirtualDisk {
  /** The leaf's format (a chain never mixes them). */
  readonly format: DiskFormat
  readonly virtualSize: number
  readonly logicalSectorSize: number
  readonly physicalSectorSize: number
  /** The leaf's block size: the granularity of allocatedExtents for disks without checkpoints. */
  readonly blockSize: number
  /** Leaf first, as given. */
  readonly files: readonly DiskFileInfo[]
  /** Bytes in allocatedExtents. */
  readonly allocatedBytes: number
  /**
   * Sorted, merged byte ranges that may hold data: blocks some file of the chain allocates and no
   * file above it declares zero. Block-granular (a partially present block counts whole); the rest
   * of the disk reads as zeros.
   */
  allocatedExtents(): Extent[]
  /** `length` bytes of the raw disk at `offset`, resolved through the chain. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer>
}

/** A stretch of the answer: bytes of one file, or zeros (`file` undefined). */
interface Piece {
  file: RandomAccessFile | undefined
  fileOffset: number
  length: number
}

export class ChainDisk implements VirtualDisk {
  readonly format: DiskFormat
  readonly virtualSize: number
  readonly logicalSectorSize: number
  readonly physicalSectorSize: number
  readonly blockSize: number
  readonly files: readonly DiskFileInfo[]
  readonly allocatedBytes: number
  private readonly extents: readonly Extent[]

  constructor(private readonly layers: readonly DiskLayer[]) {
    const leaf = layers[0]!.info
    this.format = leaf.format
    this.virtualSize = leaf.virtualSize
    this.logicalSectorSize = leaf.logicalSectorSize
    this.physicalSectorSize = leaf.physicalSectorSize
    this.blockSize = leaf.blockSize
    this.files = layers.map((l) => l.info)
    this.extents = this.computeExtents()
    this.allocatedBytes = this.extents.reduce((sum, e) => sum + e.length, 0)
  }

  allocatedExtents(): Extent[] {
    return this.extents.map((e) => ({ ...e }))
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw usageError(`${this.layers[0]!.file.name}: cannot read ${length} bytes at ${offset} of a ${this.virtualSize}-byte disk.`)
    }
    if (length === 0) return Buffer.alloc(0)
    const pieces: Piece[] = []
    await this.resolve(0, offset, length, pieces, signal)
    if (pieces.length === 1) {
      const only = pieces[0]!
      return only.file ? readExactly(only.file, only.fileOffset, length, signal) : Buffer.alloc(length)
    }
    const out = Buffer.allocUnsafe(length)
    const reads: Promise<void>[] = []
    let at = 0
    for (const p of pieces) {
      const to = at
      if (p.file) reads.push(readExactly(p.file, p.fileOffset, p.length, signal).then((b) => void b.copy(out, to)))
      else out.fill(0, to, to + p.length)
      at += p.length
    }
    await Promise.all(reads)
    return out
  }

  /** Appends the pieces answering [offset, offset+length) at `level` of the chain, parents for what it leaves to them. */
  private async resolve(level: number, offset: number, length: number, out: Piece[], signal?: AbortSignal): Promise<void> {
    const layer = this.layers[level]
    const end = offset + length
    const inside = layer ? Math.min(end, layer.info.virtualSize) : offset
    let at = offset
    while (at < inside) {
      const blockSize = layer!.info.blockSize
      const index = Math.floor(at / blockSize)
      const within = at - index * blockSize
      const n = Math.min(blockSize - within, inside - at)
      const mapped = layer!.mapInBlock(index, within, n, signal)
      let runAt = at
      for (const run of Array.isArray(mapped) ? mapped : await mapped) {
        if (run.kind === 'data') addPiece(out, layer!.file, run.fileOffset, run.length)
        else if (run.kind === 'zero') addPiece(out, undefined, 0, run.length)
        else await this.resolve(level + 1, runAt, run.length, out, signal)
        runAt += run.length
      }
      at += n
    }
    // Past the end of a (smaller) parent, or below the base disk: zeros.
    if (end > Math.max(inside, offset)) addPiece(out, undefined, 0, end - Math.max(inside, offset))
  }

  /** Walks the allocation tables top-down: data where a file has it, the parent's answer where it defers. */
  private computeExtents(): Extent[] {
    const out: Extent[] = []
    const walk = (level: number, from: number, to: number): void => {
      const layer = this.layers[level]
      if (!layer) return
      const { blockSize } = layer.info
      const end = Math.min(to, layer.info.virtualSize)
      let index = Math.floor(from / blockSize)
      let at = from
      while (at < end) {
        const kind = layer.blockClass(index)
        let next = Math.min(++index * blockSize, end)
        while (next < end && layer.blockClass(index) === kind) next = Math.min(++index * blockSize, end)
        if (kind === 'data') addExtent(out, at, next)
        else if (kind === 'parent') walk(level + 1, at, next)
        at = next
      }
    }
    walk(0, 0, this.virtualSize)
    return out
  }
}

function addPiece(out: Piece[], file: RandomAccessFile | undefined, fileOffset: number, length: number): void {
  if (length === 0) return
  const last = out[out.length - 1]
  // Adjacent in the same file (or both zeros): one read instead of two.
  if (last && last.file === file && (!file || last.fileOffset + last.length === fileOffset)) last.length += length
  else out.push({ file, fileOffset, length })
}

function addExtent(out: Extent[], from: number, to: number): void {
  const last = out[out.length - 1]
  if (last && last.offset + last.length === from) last.length += to - from
  else out.push({ offset: from, length: to - from })
}

async function readExactly(file: RandomAccessFile, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  const buf = await file.read(offset, length, signal)
  if (buf.length !== length) throw usageError(`${file.name}: a read of ${length} bytes at ${offset} returned ${buf.length} bytes.`)
  return buf
}
