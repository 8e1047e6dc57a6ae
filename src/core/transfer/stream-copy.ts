import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GutsError, abortedError } from '@guts/sdk'

/** Zero detection granularity: small enough to find holes in real guests, big enough to be cheap. */
export const BLOCK = 64 * 1024
const ZERO = Buffer.alloc(BLOCK)

export interface StreamCopyResult {
  /** Raw bytes read from the source. */
  bytesRead: number
  /** Non-zero bytes written to the sink (zero blocks are skipped when the sink is sparse). */
  bytesWritten: number
  sha256: string
}

export interface StreamCopyOptions {
  signal: AbortSignal
  /** Expected raw size; a short or long source is an error (a truncated download must not pass). */
  expectedSize?: number
  onProgress?: (bytesDone: number) => void
}

/**
 * Copies raw disk content from a stream into a sparse raw file: sha256 over every byte, zero blocks
 * skipped (left as holes), backpressure kept by awaiting each positioned write.
 */
export async function copyStreamToSparseFile(source: Readable, path: string, options: StreamCopyOptions): Promise<StreamCopyResult> {
  const handle = await open(path, 'w')
  const hash = createHash('sha256')
  let position = 0
  let written = 0
  try {
    const sink = new Writable({
      highWaterMark: 4 * 1024 * 1024,
      write(chunk: Buffer, _enc, done) {
        hash.update(chunk)
        writeNonZero(handle, chunk, position).then((n) => {
          position += chunk.length
          written += n
          options.onProgress?.(position)
          done()
        }, done)
      },
    })
    await pipeline(source, sink, { signal: options.signal })
    await handle.truncate(position)
    checkSize(position, options.expectedSize)
    return { bytesRead: position, bytesWritten: written, sha256: hash.digest('hex') }
  } catch (error) {
    throw normalise(error, options.signal)
  } finally {
    await handle.close()
  }
}

/**
 * Copies raw disk content from a stream into any writable sink (an HTTP upload, say): every byte goes
 * through, since a byte stream has no holes, but the hash and progress are the same as above.
 */
export async function copyStreamToSink(source: Readable, sink: Writable, options: StreamCopyOptions): Promise<StreamCopyResult> {
  const hash = createHash('sha256')
  let done = 0
  source.on('data', (chunk: Buffer) => {
    hash.update(chunk)
    done += chunk.length
    options.onProgress?.(done)
  })
  try {
    await pipeline(source, sink, { signal: options.signal })
  } catch (error) {
    throw normalise(error, options.signal)
  }
  checkSize(done, options.expectedSize)
  return { bytesRead: done, bytesWritten: done, sha256: hash.digest('hex') }
}

/** True when the whole buffer is zero; compares in BLOCK-sized slices against a shared zero buffer. */
export function isZero(buf: Buffer): boolean {
  for (let off = 0; off < buf.length; off += BLOCK) {
    const end = Math.min(off + BLOCK, buf.length)
    if (!buf.subarray(off, end).equals(ZERO.subarray(0, end - off))) return false
  }
  return true
}

// --- internal ---

async function writeNonZero(handle: Awaited<ReturnType<typeof open>>, chunk: Buffer, position: number): Promise<number> {
  let written = 0
  let runStart = -1
  const flush = async (end: number) => {
    // Consecutive non-zero blocks go out in one positioned write.
    await handle.write(chunk, runStart, end - runStart, position + runStart)
    written += end - runStart
    runStart = -1
  }
  // Blocks are aligned to disk offsets, not chunk offsets, so holes line up with filesystem blocks
  // whatever sizes the source's chunks have.
  for (let off = 0; off < chunk.length;) {
    const end = Math.min(chunk.length, off + BLOCK - ((position + off) % BLOCK))
    const zero = isZero(chunk.subarray(off, end))
    if (!zero && runStart < 0) runStart = off
    if (zero && runStart >= 0) await flush(off)
    off = end
  }
  if (runStart >= 0) await flush(chunk.length)
  return written
}

function checkSize(actual: number, expected?: number): void {
  if (expected !== undefined && actual !== expected) {
    throw new GutsError(
      'GUTS_DRIVER_ERROR',
      `The source delivered ${actual} bytes but the disk is ${expected} bytes: the stream was cut short or the size is wrong.`,
      {
        retryable: actual < expected,
      },
    )
  }
}

function normalise(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return abortedError(signal)
  return error
}
