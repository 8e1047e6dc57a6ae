import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { GutsError, throwIfAborted, type DiskSource, type TransferResult } from '@guts/sdk'
import type { DiskTransfer, DiskTransferRequest } from '@guts/sdk/testing'
import { qemuImgConvert } from '../../tools/qemu-img.js'
import { copyStreamToSink, copyStreamToSparseFile } from './stream-copy.js'

/**
 * One disk to move. The SDK defines the shape (a type only: nothing of the testing module is
 * loaded) so its conformance suites can take this very function as their `transfer`.
 */
export type TransferOptions = DiskTransferRequest

/**
 * Moves one disk by the best route for the source × target pair, best first:
 *  1. `qemu-img convert` when the source is addressable (file, http, nbd) and the target is a file:
 *     qemu-img reads the source format directly and writes only allocated clusters.
 *  2. A Node stream pipeline (sha256, progress, zero-block skipping) when the source is a raw stream
 *     or the target is a stream and no conversion is needed.
 *  3. Staging through a file in workDir when a conversion is needed on a stream side.
 * The route taken is returned, so it is recorded with the disk's checkpoint.
 */
export async function transferDisk(o: TransferOptions): Promise<TransferResult> {
  throwIfAborted(o.signal)
  const total = o.source.virtualSize
  const progress = (done: number) => o.onProgress?.(Math.min(done, total), total)
  const base = { diskId: o.disk.id, virtualSize: total, format: o.target.format }

  if (o.source.kind !== 'stream' && o.target.kind === 'file') {
    await qemuImgConvert({
      source: addressOf(o.source),
      sourceFormat: o.source.format,
      target: o.target.path,
      targetFormat: o.target.format,
      signal: o.signal,
      onProgress: (f) => progress(f * total),
    })
    return { ...base, route: `qemu-img:${o.source.kind}->file`, bytesWritten: total }
  }

  if (o.source.kind === 'stream' && o.source.format === 'raw') {
    if (o.target.kind === 'file' && o.target.format === 'raw') {
      const r = await copyStreamToSparseFile(await o.source.open(o.signal), o.target.path, {
        signal: o.signal,
        expectedSize: total,
        onProgress: progress,
      })
      return { ...base, route: 'stream:raw->file', bytesWritten: r.bytesWritten, sha256: r.sha256 }
    }
    if (o.target.kind === 'stream' && o.target.format === 'raw') {
      const r = await copyStreamToSink(await o.source.open(o.signal), await o.target.open(o.signal), {
        signal: o.signal,
        expectedSize: total,
        onProgress: progress,
      })
      return { ...base, route: 'stream:raw->stream', bytesWritten: r.bytesWritten, sha256: r.sha256 }
    }
  }
  return stagedTransfer(o, progress)
}

// The SDK's suites take this very function as their `transfer` (guts/testing exports it).
transferDisk satisfies DiskTransfer

// --- internal ---

/** Where qemu-img reads an addressable source. */
function addressOf(source: DiskSource): string {
  switch (source.kind) {
    case 'file':
      return source.path
    case 'nbd':
      return source.uri
    case 'http': {
      if (source.headers && Object.keys(source.headers).length) {
        // Headers (session cookies) must not go on the command line, where `ps` shows them.
        throw new GutsError(
          'GUTS_UNSUPPORTED',
          'An HTTP disk source with headers needs the stream route; the driver should offer `stream` access too.',
        )
      }
      return source.url
    }
    default:
      throw new GutsError('GUTS_DRIVER_ERROR', `Disk source kind "${source.kind}" is not addressable.`)
  }
}

/**
 * The last resort: bring the source to a local file (if it is a stream), convert it to the target's
 * format (qemu-img), then write that file to the target. Costs disk space in workDir, not memory.
 */
async function stagedTransfer(o: TransferOptions, progress: (done: number) => void): Promise<TransferResult> {
  const staged: string[] = []
  const total = o.source.virtualSize
  try {
    let path: string
    let format = o.source.format
    let sha256: string | undefined
    if (o.source.kind === 'stream') {
      path = join(o.workDir, `${o.disk.id}.source.${format}`)
      staged.push(path)
      const stream = await o.source.open(o.signal)
      // Non-raw streams (a VHDX over SSH, say) land byte for byte; only raw ones can be sparse.
      const r =
        format === 'raw'
          ? await copyStreamToSparseFile(stream, path, { signal: o.signal, expectedSize: total, onProgress: (d) => progress(d / 2) })
          : await copyStreamToSparseFile(stream, path, { signal: o.signal })
      if (format === 'raw') sha256 = r.sha256
    } else {
      path = addressOf(o.source)
    }
    if (o.target.kind === 'file') {
      await qemuImgConvert({
        source: path,
        sourceFormat: format,
        target: o.target.path,
        targetFormat: o.target.format,
        signal: o.signal,
        onProgress: (f) => progress(total / 2 + (f * total) / 2),
      })
      return {
        diskId: o.disk.id,
        virtualSize: total,
        format: o.target.format,
        route: `staged:${o.source.kind}->file`,
        bytesWritten: total,
        ...(sha256 ? { sha256 } : {}),
      }
    }
    if (format !== o.target.format) {
      const converted = join(o.workDir, `${o.disk.id}.target.${o.target.format}`)
      staged.push(converted)
      await qemuImgConvert({
        source: path,
        sourceFormat: format,
        target: converted,
        targetFormat: o.target.format,
        signal: o.signal,
        onProgress: (f) => progress((f * total) / 2),
      })
      path = converted
      format = o.target.format
    }
    const r = await copyStreamToSink(createReadStream(path, { highWaterMark: 1024 * 1024 }), await o.target.open(o.signal), {
      signal: o.signal,
      onProgress: () => undefined,
    })
    progress(total)
    return {
      diskId: o.disk.id,
      virtualSize: total,
      format,
      route: `staged:${o.source.kind}->stream`,
      bytesWritten: r.bytesWritten,
      ...(format === 'raw' ? { sha256: r.sha256 } : sha256 ? { sha256 } : {}),
    }
  } finally {
    await Promise.all(staged.map((p) => rm(p, { force: true })))
  }
}
