import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'

/** qemu-img and qemu-io as the oracle: they make the files and say what the raw disk is. */
export type QemuFormat = 'vhdx' | 'vpc'

export interface TempDir {
  dir: string
  path(name: string): string
  cleanup(): void
}

export function tempDir(prefix = 'guts-vhd-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Creates a disk: `qemu-img create -f <format> [-o options] <path> <size>`. */
export function createDisk(format: QemuFormat, path: string, size: number | string, options: Record<string, string> = {}): void {
  const o = Object.entries(options).map(([k, v]) => `${k}=${v}`)
  qemuImg('create', '-q', '-f', format, ...(o.length ? ['-o', o.join(',')] : []), path, String(size))
}

/** Writes `pattern` bytes at each [offset, length] through qemu-io. */
export function writePatterns(format: QemuFormat, path: string, writes: [pattern: number, offset: number, length: number][]): void {
  const commands = writes.flatMap(([p, off, len]) => ['-c', `write -q -P 0x${p.toString(16)} ${off} ${len}`])
  execFileSync('qemu-io', ['-f', format, ...commands, path], { stdio: ['ignore', 'pipe', 'pipe'] })
}

export function convertToRaw(format: QemuFormat, path: string, rawPath: string): void {
  qemuImg('convert', '-f', format, '-O', 'raw', path, rawPath)
}

export function virtualSizeOf(format: QemuFormat, path: string): number {
  return (JSON.parse(qemuImg('info', '--output=json', '-f', format, path)) as { 'virtual-size': number })['virtual-size']
}

export interface Range {
  offset: number
  length: number
}

/** The data:true ranges of `qemu-img map`. */
export function dataRanges(format: QemuFormat | 'raw', path: string): Range[] {
  const map = JSON.parse(qemuImg('map', '--output=json', '-f', format, path)) as { start: number; length: number; data: boolean }[]
  return map.filter((m) => m.data).map((m) => ({ offset: m.start, length: m.length }))
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

/**
 * Compares a raw stream with a raw file without reading the file's holes: where `qemu-img map`
 * says the raw file has data the bytes must be equal, elsewhere the stream must be zeros. Returns
 * the number of bytes the stream gave and, when asked, their sha256.
 */
export async function compareStreamWithRaw(
  stream: Readable,
  rawPath: string,
  withHash = false,
): Promise<{ bytes: number; sha256?: string }> {
  const data = dataRanges('raw', rawPath)
  const raw = await open(rawPath, 'r')
  const hash = withHash ? createHash('sha256') : undefined
  let pos = 0
  let zeros: Buffer = Buffer.alloc(0)
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash?.update(chunk)
      const end = pos + chunk.length
      let at = pos
      for (const r of data) {
        if (r.offset + r.length <= at || r.offset >= end) continue
        const from = Math.max(at, r.offset)
        const to = Math.min(end, r.offset + r.length)
        if (from > at) zeros = expectZeros(chunk, pos, at, from, zeros)
        const want = Buffer.alloc(to - from)
        await raw.read(want, 0, want.length, from)
        if (!chunk.subarray(from - pos, to - pos).equals(want))
          throw new Error(
            `stream differs from ${rawPath} in [${from}, ${to})${firstDiff(chunk.subarray(from - pos, to - pos), want, from)}`,
          )
        at = to
      }
      if (at < end) zeros = expectZeros(chunk, pos, at, end, zeros)
      pos = end
    }
  } finally {
    await raw.close()
  }
  return { bytes: pos, ...(hash ? { sha256: hash.digest('hex') } : {}) }
}

function expectZeros(chunk: Buffer, chunkPos: number, from: number, to: number, zeros: Buffer): Buffer {
  const z = zeros.length >= to - from ? zeros : Buffer.alloc(to - from)
  if (!chunk.subarray(from - chunkPos, to - chunkPos).equals(z.subarray(0, to - from))) {
    throw new Error(`stream has non-zero bytes in [${from}, ${to}) where the raw file has a hole`)
  }
  return z
}

function firstDiff(a: Buffer, b: Buffer, base: number): string {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `: first at ${base + i} (${a[i]} instead of ${b[i]})`
  return ''
}
