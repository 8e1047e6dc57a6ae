import { Readable } from 'node:stream'
import { usageError } from './disk-error.js'
import type { Extent, VirtualDisk } from './disk.js'

export interface RawStreamOptions {
  signal?: AbortSignal
  /** Reads in flight at most (default 32). */
  concurrency?: number
  /** Bytes per read and per pushed chunk (default 256 KiB). */
  chunkSize?: number
}

const DEFAULT_CONCURRENCY = 32
const DEFAULT_CHUNK = 256 * 1024

/** One stretch of the output, in order: zeros, or a read that is pending or done. */
interface Slot {
  zeros: number
  pending: boolean
  data: Buffer | undefined
}

/**
 * The whole raw disk, byte 0 to virtualSize, in order. Allocated extents are read in chunks that
 * never cross a chunkSize-aligned boundary (so a chunk stays inside one block and maps to one
 * file read when the block is contiguous in the file), up to `concurrency` of them outstanding;
 * the rest is pushed as slices of one zero buffer, which the consumer must not write to. Reads
 * are issued only when the consumer pulls: memory stays within concurrency × chunkSize plus the
 * stream's buffer. An abort destroys the stream with the signal's reason, a failed read with its
 * error; either cancels the reads in flight.
 */
export function rawStream(disk: VirtualDisk, options: RawStreamOptions = {}): Readable {
  return new RawDiskStream(disk, options)
}

class RawDiskStream extends Readable {
  private readonly chunkSize: number
  private readonly concurrency: number
  private readonly zeroBuffer: Buffer
  private readonly extents: Extent[]
  private readonly cancel = new AbortController()
  private readonly signal: AbortSignal | undefined
  private readonly onAbort = () => this.destroy(this.signal!.reason)
  private nextExtent = 0
  /** Where planning has got to: everything before it is in `queue` or already pushed. */
  private planned = 0
  private readonly queue: Slot[] = []
  private outstanding = 0
  private wanting = false

  constructor(
    private readonly disk: VirtualDisk,
    options: RawStreamOptions,
  ) {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || !Number.isSafeInteger(concurrency) || concurrency <= 0) {
      throw usageError(`rawStream needs a positive chunkSize and concurrency (got ${chunkSize} and ${concurrency}).`)
    }
    super({ highWaterMark: chunkSize })
    this.chunkSize = chunkSize
    this.concurrency = concurrency
    this.zeroBuffer = Buffer.alloc(chunkSize)
    this.extents = disk.allocatedExtents()
    this.signal = options.signal
    if (this.signal?.aborted) process.nextTick(this.onAbort)
    else this.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  override _read(): void {
    this.wanting = true
    this.pump()
  }

  /** Tops up the reads and pushes what is ready, for as long as the consumer takes it. */
  private pump(): void {
    do this.fill()
    while (this.flush() && this.wanting)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.signal?.removeEventListener('abort', this.onAbort)
    this.cancel.abort(error ?? new Error('the raw disk stream was closed'))
    callback(error)
  }

  /** Plans and issues reads until `concurrency` are outstanding (in flight, or done and not yet pushed). */
  private fill(): void {
    while (!this.destroyed && this.outstanding < this.concurrency && this.planned < this.disk.virtualSize) {
      const extent = this.extents[this.nextExtent]
      if (!extent || this.planned < extent.offset) {
        const until = extent ? extent.offset : this.disk.virtualSize
        this.queue.push({ zeros: until - this.planned, pending: false, data: undefined })
        this.planned = until
        continue
      }
      const extentEnd = extent.offset + extent.length
      const nextBoundary = (Math.floor(this.planned / this.chunkSize) + 1) * this.chunkSize
      const end = Math.min(nextBoundary, extentEnd)
      this.issue(this.planned, end - this.planned)
      this.planned = end
      if (end === extentEnd) this.nextExtent++
    }
  }

  private issue(offset: number, length: number): void {
    const slot: Slot = { zeros: 0, pending: true, data: undefined }
    this.queue.push(slot)
    this.outstanding++
    this.disk.read(offset, length, this.cancel.signal).then(
      (data) => {
        slot.pending = false
        slot.data = data
        if (this.wanting && this.queue[0] === slot) this.pump()
      },
      (error: unknown) => {
        if (!this.destroyed) this.destroy(error instanceof Error ? error : new Error(String(error)))
      },
    )
  }

  /** Pushes finished slots from the head while the consumer wants more, ends after the last byte; true if it pushed. */
  private flush(): boolean {
    let pushed = false
    while (this.wanting && !this.destroyed) {
      const head = this.queue[0]
      if (!head) {
        if (this.planned >= this.disk.virtualSize) {
          this.wanting = false
          this.push(null)
        }
        break
      }
      if (head.pending) break
      pushed = true
      if (head.data) {
        this.queue.shift()
        this.outstanding--
        const data = head.data
        head.data = undefined
        this.wanting = this.push(data)
        continue
      }
      const n = Math.min(head.zeros, this.chunkSize)
      head.zeros -= n
      if (head.zeros === 0) this.queue.shift()
      this.wanting = this.push(n === this.chunkSize ? this.zeroBuffer : this.zeroBuffer.subarray(0, n))
    }
    return pushed
  }
}
