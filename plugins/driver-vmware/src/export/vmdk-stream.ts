import { Readable } from 'node:stream'
import { inflateSync } from 'node:zlib'
import { GutsError } from '@guts/sdk'

const SECTOR = 512
const KDMV = 0x564d444b // "KDMV" little-endian
const FLAG_COMPRESSED = 1 << 16
const FLAG_MARKERS = 1 << 17
const MARKER_EOS = 0
const ZERO = Buffer.alloc(1 << 20)

/**
 * streamOptimized VMDK (what an NFC lease serves) → the raw disk, as a stream: no seeking, no
 * staging. The format is a sparse header, the descriptor, then markers in one pass: a grain
 * marker (lba u64, size u32, zlib data, padded to a sector) per non-zero grain in ascending LBA
 * order, and metadata markers (size 0; sectors u64, type u32 at +12) for grain tables, the grain
 * directory and the footer, which a sequential reader skips. Holes between grains are emitted as
 * zeros, and the tail up to the header's capacity after the end-of-stream marker, so exactly
 * `capacity` bytes come out.
 *
 * A pull-driven generator rather than a Transform: a hole of 100 GiB must be produced as the
 * consumer reads it, 1 MiB at a time, not pushed into a buffer at once.
 */
export function vmdkToRaw(source: AsyncIterable<Buffer>, parser = new StreamVmdkParser()): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of source) {
        yield* parser.feed(chunk)
        if (parser.done) break
      }
      yield* parser.finish()
    })(),
    { objectMode: false },
  )
}

export class StreamVmdkParser {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private capacity = -1n // sectors
  private skip = 0 // bytes still to drop (descriptor, metadata payloads)
  private outLba = 0n
  private ended = false
  /** Uncompressed bytes of grains seen: the disk's allocated data. */
  dataBytes = 0

  /** The disk size from the header, once it has been read (bytes). */
  get virtualSize(): number | undefined {
    return this.capacity < 0n ? undefined : Number(this.capacity) * SECTOR
  }

  /** True once the end-of-stream marker was read; later bytes (padding) carry nothing. */
  get done(): boolean {
    return this.ended
  }

  *feed(chunk: Buffer): Generator<Buffer> {
    if (this.ended) return
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    yield* this.drain()
  }

  *finish(): Generator<Buffer> {
    if (this.capacity < 0n) throw bad('the stream ended before the VMDK header')
    if (!this.ended) throw bad('the stream ended before the end-of-stream marker: the download was cut short')
    yield* this.zeros(this.capacity - this.outLba)
    this.outLba = this.capacity
  }

  private *drain(): Generator<Buffer> {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.pendingBytes)
        if (!n) return
        this.takeBytes(n)
        this.skip -= n
        continue
      }
      if (this.capacity < 0n) {
        if (this.pendingBytes < SECTOR) return
        this.header(this.takeBytes(SECTOR))
        continue
      }
      if (this.pendingBytes < 12) return
      const head = this.peekBytes(12)
      const lba = head.readBigUInt64LE(0)
      const size = head.readUInt32LE(8)
      if (size === 0) {
        if (this.pendingBytes < SECTOR) return
        const marker = this.takeBytes(SECTOR)
        if (marker.readUInt32LE(12) === MARKER_EOS) {
          this.ended = true
          return
        }
        this.skip = Number(lba) * SECTOR // the table's sectors follow its marker sector
        continue
      }
      const total = Math.ceil((12 + size) / SECTOR) * SECTOR
      if (this.pendingBytes < total) return
      const grain = this.takeBytes(total)
      if (lba >= this.capacity) throw bad(`a grain at LBA ${lba} lies beyond the disk's ${this.capacity} sectors`)
      if (lba < this.outLba) throw bad(`grains out of order (LBA ${lba} after ${this.outLba}): this stream cannot be read sequentially`)
      yield* this.zeros(lba - this.outLba)
      const data = inflateSync(grain.subarray(12, 12 + size))
      // The last grain may run past the capacity when it is not a multiple of the grain size.
      const room = Number(this.capacity - lba) * SECTOR
      const out = data.length > room ? data.subarray(0, room) : data
      yield out
      this.dataBytes += out.length
      this.outLba = lba + BigInt(Math.ceil(out.length / SECTOR))
    }
  }

  private header(h: Buffer): void {
    if (h.readUInt32LE(0) !== KDMV) throw bad('not a sparse VMDK (no KDMV magic)')
    const flags = h.readUInt32LE(8)
    if (!(flags & FLAG_COMPRESSED) || !(flags & FLAG_MARKERS) || h.readUInt16LE(77) !== 1) {
      throw bad('not a streamOptimized VMDK (needs deflate-compressed grains with markers)')
    }
    this.capacity = h.readBigUInt64LE(12)
    // overHead counts the header sector too: what remains is the descriptor and padding.
    this.skip = Math.max(Number(h.readBigUInt64LE(64)) * SECTOR - SECTOR, 0)
  }

  private *zeros(sectors: bigint): Generator<Buffer> {
    let bytes = Number(sectors) * SECTOR
    while (bytes > 0) {
      const n = Math.min(bytes, ZERO.length)
      // ZERO is never written to, so sharing it between queued chunks is safe.
      yield ZERO.subarray(0, n)
      bytes -= n
    }
  }

  private peekBytes(n: number): Buffer {
    if (this.pending[0]!.length >= n) return this.pending[0]!.subarray(0, n)
    const joined = Buffer.concat(this.pending)
    this.pending = [joined]
    return joined.subarray(0, n)
  }

  private takeBytes(n: number): Buffer {
    this.pendingBytes -= n
    const first = this.pending[0]!
    if (first.length >= n) {
      const out = first.subarray(0, n)
      if (first.length === n) this.pending.shift()
      else this.pending[0] = first.subarray(n)
      return out
    }
    const joined = Buffer.concat(this.pending)
    this.pending = joined.length > n ? [joined.subarray(n)] : []
    return joined.subarray(0, n)
  }
}

function bad(message: string): GutsError {
  return new GutsError('GUTS_DRIVER_ERROR', `VMDK stream from vSphere: ${message}`)
}
