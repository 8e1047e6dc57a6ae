import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import type { DiskTarget } from '../destination.js'
import type { DiskSource } from '../source.js'
import { measure, stageSource, tempPath } from './disk-io.js'
import { convertImage } from './qemu.js'

/** What a copy reports; the suites turn it into the TransferResult handed to `commitDisk`. */
export interface CopyResult {
  route: string
  bytesWritten: number
  /** sha256 of the bytes written into a stream target (its `format`, not necessarily raw). */
  sha256?: string
}

/**
 * Copies one disk using only what the contract exposes, with the routes the core uses:
 * - `qemu-img convert` when both ends are addressable (file, http or nbd → file);
 * - a plain stream pipeline for a raw stream into a raw stream;
 * - otherwise through a staging file in `dir`: the source stream is saved in its own format,
 *   and converted to `target.format` when the target is a stream of another format.
 */
export async function copyDisk(source: DiskSource, target: DiskTarget, dir: string, signal: AbortSignal): Promise<CopyResult> {
  if (source.kind === 'stream' && source.format === 'raw' && target.kind === 'stream' && target.format === 'raw') {
    const from = await source.open(signal)
    const written = await measure(from, await openOrRelease(target, signal, from), signal)
    return { route: 'stream:raw->stream', bytesWritten: written.bytes, sha256: written.sha256 }
  }
  const staged = await stageSource(source, dir, signal)
  const via = source.kind === 'stream' ? 'staged' : source.kind
  if (target.kind === 'file') {
    await convertImage(staged, source.format, target.path, target.format)
    const { size } = await stat(target.path)
    return { route: `qemu-img:${via}->file`, bytesWritten: size }
  }
  let file = staged
  if (source.format !== target.format || source.kind === 'http' || source.kind === 'nbd') {
    // qemu-img writes formats, not pipes: produce the target format in a file, then stream it.
    file = tempPath(dir, target.format)
    await convertImage(staged, source.format, file, target.format)
  }
  const from = createReadStream(file)
  const written = await measure(from, await openOrRelease(target, signal, from), signal)
  return { route: `staged:${source.format}->stream:${target.format}`, bytesWritten: written.bytes, sha256: written.sha256 }
}

/** Opens a stream target; if that fails, the already opened source must not stay open. */
async function openOrRelease(target: DiskTarget & { kind: 'stream' }, signal: AbortSignal, from: Readable): Promise<Writable> {
  try {
    return await target.open(signal)
  } catch (error) {
    from.destroy()
    throw error
  }
}
