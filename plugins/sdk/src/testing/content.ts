import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Extent } from '../model.js'

/**
 * Deterministic disk content for fakes and fixtures: the same seed and size always give the
 * same bytes, so a copy can be checked against a second read. One chunk in four is all zeros,
 * like the free space of a real disk, so sparse-aware copies are exercised too.
 */

export const CHUNK_SIZE = 64 * 1024

function seedOf(text: string): number {
  // FNV-1a: a stable 32-bit number from the seed text.
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function isZeroChunk(seed: string, index: number): boolean {
  return (seedOf(seed) + index) % 4 === 0
}

/** Bytes of chunk `index` (`CHUNK_SIZE` long; callers cut the last one to the disk size). */
export function chunkBytes(seed: string, index: number): Buffer {
  const buf = Buffer.alloc(CHUNK_SIZE)
  if (isZeroChunk(seed, index)) return buf
  // xorshift32: fast, and never zero once seeded non-zero.
  let x = (seedOf(seed) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0 || 1
  for (let i = 0; i < CHUNK_SIZE; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf.writeUInt32LE(x >>> 0, i)
  }
  return buf
}

/** The whole content of a disk of `size` bytes, as a stream of chunks. */
export function contentStream(seed: string, size: number): Readable {
  function* chunks(): Generator<Buffer> {
    for (let offset = 0, index = 0; offset < size; offset += CHUNK_SIZE, index++) {
      const chunk = chunkBytes(seed, index)
      yield offset + CHUNK_SIZE <= size ? chunk : chunk.subarray(0, size - offset)
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}

/** Writes the content of a `size`-byte disk to a raw file. */
export async function writeContentFile(path: string, seed: string, size: number): Promise<void> {
  await pipeline(contentStream(seed, size), createWriteStream(path))
}

/** The extents that hold non-zero data, sorted and non-overlapping: what a CBT query reports. */
export function dataExtents(seed: string, size: number): Extent[] {
  const extents: Extent[] = []
  for (let offset = 0, index = 0; offset < size; offset += CHUNK_SIZE, index++) {
    if (!isZeroChunk(seed, index)) extents.push({ offset, length: Math.min(CHUNK_SIZE, size - offset) })
  }
  return extents
}
