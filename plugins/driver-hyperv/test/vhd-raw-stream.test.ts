import type { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { rawStream, type Extent, type VirtualDisk } from '../src/vhd/index.js'

const KiB = 1024
const MiB = 1024 * KiB

/** The byte a fake disk holds at `x` inside its extents. */
const byteAt = (x: number) => (x * 7 + Math.floor(x / 512)) & 0xff || 1

interface FakeDisk extends VirtualDisk {
  reads: { offset: number; length: number; signal: AbortSignal | undefined }[]
  maxInFlight: number
}

/** A VirtualDisk with given extents, whose reads complete after a few milliseconds in random order. */
function fakeDisk(
  virtualSize: number,
  extents: Extent[],
  options: { fail?: (offset: number) => Error | undefined; delay?: number } = {},
): FakeDisk {
  let inFlight = 0
  let seed = 99
  const disk: FakeDisk = {
    format: 'vhdx',
    virtualSize,
    logicalSectorSize: 512,
    physicalSectorSize: 4096,
    blockSize: MiB,
    files: [],
    allocatedBytes: extents.reduce((s, e) => s + e.length, 0),
    allocatedExtents: () => extents.map((e) => ({ ...e })),
    reads: [],
    maxInFlight: 0,
    read(offset, length, signal) {
      disk.reads.push({ offset, length, signal })
      disk.maxInFlight = Math.max(disk.maxInFlight, ++inFlight)
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const delay = options.delay ?? seed % 4
      return new Promise<Buffer>((resolve, reject) => {
        setTimeout(() => {
          inFlight--
          const error = options.fail?.(offset)
          if (error) return reject(error)
          if (signal?.aborted) return reject(signal.reason)
          const buf = Buffer.alloc(length)
          for (let i = 0; i < length; i++) buf[i] = byteAt(offset + i)
          resolve(buf)
        }, delay)
      })
    },
  }
  return disk
}

function expected(virtualSize: number, extents: Extent[]): Buffer {
  const out = Buffer.alloc(virtualSize)
  for (const e of extents) for (let x = e.offset; x < e.offset + e.length; x++) out[x] = byteAt(x)
  return out
}

/** The chunks as pushed ('data' events; async iteration would merge buffered ones). */
function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => resolve(chunks))
    stream.once('error', reject)
  })
}

const nextTicks = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('rawStream', () => {
  const layouts: [string, number, Extent[]][] = [
    ['data from byte 0', 2 * MiB, [{ offset: 0, length: 300 * KiB }]],
    [
      'a gap first, extents at odd offsets, data up to the end',
      3 * MiB + 512,
      [
        { offset: 100 * KiB + 512, length: 70 * KiB },
        { offset: MiB - 512, length: 1024 },
        { offset: 2 * MiB, length: MiB + 512 },
      ],
    ],
    ['no data', MiB + 4096, []],
    ['everything', MiB, [{ offset: 0, length: MiB }]],
  ]
  it.each(layouts)('gives the whole disk in order: %s', async (_name, size, extents) => {
    const disk = fakeDisk(size, extents)
    const chunkSize = 64 * KiB
    const chunks = await collect(rawStream(disk, { chunkSize, concurrency: 4 }))
    expect(Buffer.concat(chunks).equals(expected(size, extents))).toBe(true)
    // Reads cover the extents exactly once, never cross a chunk boundary, and run several at a time.
    expect(disk.reads.reduce((s, r) => s + r.length, 0)).toBe(disk.allocatedBytes)
    for (const r of disk.reads) expect(Math.floor(r.offset / chunkSize)).toBe(Math.floor((r.offset + r.length - 1) / chunkSize))
    expect(disk.maxInFlight).toBeLessThanOrEqual(4)
    if (disk.reads.length > 4) expect(disk.maxInFlight).toBeGreaterThan(1)
    expect(chunks.every((c) => c.length <= chunkSize)).toBe(true)
  })

  it('issues no reads while the consumer does not pull, and at most a window of them when it stops', async () => {
    const disk = fakeDisk(8 * MiB, [{ offset: 0, length: 8 * MiB }], { delay: 1 })
    const stream = rawStream(disk, { chunkSize: 64 * KiB, concurrency: 6 })
    await nextTicks(20)
    expect(disk.reads).toHaveLength(0)
    stream.read(0) // one pull, then nobody reads
    await nextTicks(30)
    const issued = disk.reads.length
    expect(issued).toBeGreaterThan(0)
    expect(issued).toBeLessThanOrEqual(7)
    await nextTicks(30)
    expect(disk.reads).toHaveLength(issued)
    expect(Buffer.concat(await collect(stream)).equals(expected(8 * MiB, [{ offset: 0, length: 8 * MiB }]))).toBe(true)
  })

  it('emits unallocated areas as slices of one zero buffer, even for a large disk', async () => {
    const size = 64 * 1024 * MiB
    const extents = [{ offset: 40 * 1024 * MiB + 512, length: 4 * KiB }]
    const stream = rawStream(fakeDisk(size, extents), { chunkSize: MiB })
    const backing = new Set<ArrayBufferLike>()
    let bytes = 0
    stream.on('data', (chunk: Buffer) => {
      const inData = bytes < extents[0]!.offset + extents[0]!.length && bytes + chunk.length > extents[0]!.offset
      if (!inData) backing.add(chunk.buffer)
      bytes += chunk.length
    })
    await new Promise((resolve) => stream.once('end', resolve))
    expect(bytes).toBe(size)
    expect(backing.size).toBe(1)
  })

  it('is destroyed with the abort reason, and cancels the reads in flight', async () => {
    const disk = fakeDisk(4 * MiB, [{ offset: 0, length: 4 * MiB }], { delay: 5 })
    const controller = new AbortController()
    const stream = rawStream(disk, { signal: controller.signal, chunkSize: 64 * KiB, concurrency: 4 })
    const reason = new Error('the migration was cancelled')
    stream.once('data', () => controller.abort(reason))
    await expect(collect(stream)).rejects.toBe(reason)
    expect(disk.reads.length).toBeLessThan(64)
    expect(disk.reads.at(-1)!.signal!.aborted).toBe(true)
  })

  it('fails at once when the signal has already fired', async () => {
    const controller = new AbortController()
    controller.abort(new Error('too late'))
    const disk = fakeDisk(MiB, [{ offset: 0, length: MiB }])
    await expect(collect(rawStream(disk, { signal: controller.signal }))).rejects.toThrow('too late')
  })

  it('is destroyed with the error of a failed read and reads no further', async () => {
    const failure = new Error('SFTP: connection lost')
    const disk = fakeDisk(4 * MiB, [{ offset: 0, length: 4 * MiB }], { fail: (offset) => (offset === MiB ? failure : undefined) })
    await expect(collect(rawStream(disk, { chunkSize: 64 * KiB, concurrency: 4 }))).rejects.toBe(failure)
    const issued = disk.reads.length
    await nextTicks(20)
    expect(disk.reads).toHaveLength(issued)
    expect(issued).toBeLessThan(4 * 16)
  })

  it('refuses a chunk size or concurrency that is not a positive integer', () => {
    expect(() => rawStream(fakeDisk(MiB, []), { chunkSize: 0 })).toThrow(/positive chunkSize and concurrency/)
    expect(() => rawStream(fakeDisk(MiB, []), { concurrency: 1.5 })).toThrow(/positive chunkSize and concurrency/)
  })

  it('ends at once for a disk of size zero', async () => {
    expect(await collect(rawStream(fakeDisk(0, [])))).toEqual([])
  })
})
