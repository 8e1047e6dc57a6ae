import { createReadStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { GutsError, throwIfAborted, type DiskSource, type Extent } from '@guts/sdk'

/** Range requests in flight per disk during a delta sync. */
const RANGE_READS_IN_FLIGHT = 8

export interface ApplyResult {
  /** Bytes of the extents (what changed at the source). */
  bytesChanged: number
  /** Bytes read from the source to get them: equal to bytesChanged with random access. */
  bytesMoved: number
  /** `range` (only the extents were read) or `full-stream` (the whole disk was read). */
  method: 'range' | 'full-stream'
}

/**
 * Writes the given extents of a raw source disk into a raw replica file at the same offsets:
 * the delta sync of a warm migration. With random access (`readRange`, or a raw file) only the
 * extents are read; a plain stream is read whole and only the extents' bytes are kept, which is
 * correct but moves the whole disk — the result says which happened.
 */
export async function applyExtents(
  source: DiskSource,
  extents: readonly Extent[],
  replica: string,
  signal: AbortSignal,
): Promise<ApplyResult> {
  if (source.format !== 'raw') throw new GutsError('GUTS_UNSUPPORTED', `Delta syncs need raw source disks; this one is ${source.format}.`)
  const bytesChanged = extents.reduce((n, e) => n + e.length, 0)
  if (!extents.length) return { bytesChanged: 0, bytesMoved: 0, method: 'range' }
  const out = await open(replica, 'r+')
  try {
    const readRange = source.readRange?.bind(source) ?? (source.kind === 'file' ? fileRange(source.path) : undefined)
    if (readRange) {
      // Changed-block lists are fragmented (thousands of 64 KiB areas): one request at a time
      // would be bound by round trips, so a few run at once (positional writes do not clash).
      await inParallel(extents, RANGE_READS_IN_FLIGHT, async (e) => {
        throwIfAborted(signal)
        await copyRange(await readRange(e.offset, e.length, signal), out, e)
      })
      return { bytesChanged, bytesMoved: bytesChanged, method: 'range' }
    }
    if (source.kind !== 'stream')
      throw new GutsError('GUTS_UNSUPPORTED', `Delta syncs cannot read a ${source.kind} disk without random access.`)
    const bytesMoved = await keepExtents(await source.open(signal), out, extents, signal)
    return { bytesChanged, bytesMoved, method: 'full-stream' }
  } finally {
    await out.close()
  }
}

function fileRange(path: string) {
  return async (offset: number, length: number): Promise<Readable> =>
    createReadStream(path, { start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 })
}

async function copyRange(input: Readable, out: FileHandle, e: Extent): Promise<void> {
  let pos = e.offset
  const end = e.offset + e.length
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (pos + chunk.length > end) {
      input.destroy()
      throw new GutsError('GUTS_DRIVER_ERROR', `The source returned more than the ${e.length} bytes asked for at offset ${e.offset}.`)
    }
    await writeAll(out, chunk, pos)
    pos += chunk.length
  }
  if (pos !== end)
    throw new GutsError(
      'GUTS_UNREACHABLE',
      `The source returned ${pos - e.offset} of ${e.length} bytes at offset ${e.offset}: the read was cut short.`,
      { retryable: true },
    )
}

/** Reads the whole stream; writes only the parts inside `extents` (sorted, non-overlapping). */
async function keepExtents(input: Readable, out: FileHandle, extents: readonly Extent[], signal: AbortSignal): Promise<number> {
  let pos = 0
  let i = 0
  for await (const chunk of input as AsyncIterable<Buffer>) {
    throwIfAborted(signal)
    const chunkEnd = pos + chunk.length
    while (i < extents.length && extents[i]!.offset < chunkEnd) {
      const e = extents[i]!
      const from = Math.max(e.offset, pos)
      const to = Math.min(e.offset + e.length, chunkEnd)
      if (to > from) await writeAll(out, chunk.subarray(from - pos, to - pos), from)
      if (e.offset + e.length > chunkEnd) break
      i++
    }
    pos = chunkEnd
  }
  if (i < extents.length)
    throw new GutsError(
      'GUTS_UNREACHABLE',
      `The source disk stream ended at ${pos} bytes, before the changed extent at ${extents[i]!.offset}.`,
      { retryable: true },
    )
  return pos
}

/** Runs `fn` over items, `limit` at a time; the first error stops new work and is thrown once all settle. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed: { error: unknown } | undefined
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!
      try {
        await fn(item)
      } catch (error) {
        failed ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed) throw failed.error
}

async function writeAll(out: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await out.write(buf, done, buf.length - done, position + done)
    done += bytesWritten
  }
}
