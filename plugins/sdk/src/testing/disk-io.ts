import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { Transform, Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { DiskFormat } from '../model.js'
import type { DiskSource } from '../source.js'
import { convertImage } from './qemu.js'

/**
 * Reading disk content for the suites' checks: counting, hashing, staging a stream so qemu-img can
 * read it, a raw reference copy. Disks are never *moved* here; that is the engine's transfer.
 */

export interface Measured {
  /** Bytes that went through. */
  bytes: number
  /** sha256 of those bytes, hex. */
  sha256: string
}

/** Pipes `from` into `to` (or nowhere), counting and hashing the bytes on the way. */
export async function measure(from: Readable, to?: Writable, signal?: AbortSignal): Promise<Measured> {
  const hash = createHash('sha256')
  let bytes = 0
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      hash.update(chunk)
      done(null, chunk)
    },
  })
  const sink = to ?? new Writable({ write: (_chunk, _encoding, done) => done() })
  await pipeline(from, tap, sink, ...(signal ? [{ signal }] : []))
  return { bytes, sha256: hash.digest('hex') }
}

/** sha256 and length of a local file. */
export function measureFile(path: string): Promise<Measured> {
  return measure(createReadStream(path))
}

/** A fresh file name in `dir`; nothing is created. */
export function tempPath(dir: string, format: DiskFormat): string {
  return join(dir, `${randomUUID()}.${format}`)
}

/** What qemu-img can open directly for a non-stream source: a path, a URL or an NBD URI. */
export function sourceLocation(source: DiskSource): string | undefined {
  switch (source.kind) {
    case 'file':
      return source.path
    case 'http':
      return source.url
    case 'nbd':
      return source.uri
    case 'stream':
      return undefined
  }
}

/**
 * Something qemu-img can open holding the source's bytes in `source.format`: the source itself
 * when it has a location, else a staging file in `dir` filled from the stream (the core stages
 * non-raw streams the same way, since qemu-img cannot read a format from a pipe).
 */
export async function stageSource(source: DiskSource, dir: string, signal: AbortSignal): Promise<string> {
  if (source.kind !== 'stream') return sourceLocation(source) as string
  const path = tempPath(dir, source.format)
  await pipeline(await source.open(signal), createWriteStream(path), { signal })
  return path
}

/** A raw file in `dir` with the guest-visible content of `source`. */
export async function materializeRaw(source: DiskSource, dir: string, signal: AbortSignal): Promise<string> {
  if (source.kind === 'stream' && source.format === 'raw') return stageSource(source, dir, signal)
  const staged = await stageSource(source, dir, signal)
  const raw = tempPath(dir, 'raw')
  await convertImage(staged, source.format, raw, 'raw')
  return raw
}
