import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { BLOCK, copyStreamToSink, copyStreamToSparseFile, isZero } from '../../src/core/transfer/stream-copy.js'
import { tempDir } from '../helpers/cli.js'

const MiB = 1024 * 1024

/** 16 MiB with data only in the first and the last MiB, delivered in odd-sized chunks. */
function sparseImage(): Buffer {
  const img = Buffer.alloc(16 * MiB)
  randomBytes(MiB).copy(img, 0)
  randomBytes(MiB).copy(img, 15 * MiB)
  img[8 * MiB + 12345] = 7 // one non-zero byte in the middle: its block must be written
  return img
}

function chunked(buf: Buffer, size = 300_001): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size))
  return Readable.from(parts)
}

describe('stream copy', () => {
  it('writes a sparse file: same bytes, same sha256, zero blocks left as holes', async () => {
    const img = sparseImage()
    const path = join(tempDir(), 'disk.raw')
    const r = await copyStreamToSparseFile(chunked(img), path, { signal: new AbortController().signal, expectedSize: img.length })
    expect(readFileSync(path).equals(img)).toBe(true)
    expect(r.sha256).toBe(createHash('sha256').update(img).digest('hex'))
    expect(r.bytesRead).toBe(img.length)
    expect(r.bytesWritten).toBeLessThanOrEqual(2 * MiB + 2 * BLOCK)
    expect(statSync(path).blocks * 512).toBeLessThan(4 * MiB) // allocated, not 16 MiB
  })

  it('refuses a stream that is shorter than the disk', async () => {
    const path = join(tempDir(), 'short.raw')
    await expect(
      copyStreamToSparseFile(chunked(Buffer.alloc(MiB)), path, { signal: new AbortController().signal, expectedSize: 2 * MiB }),
    ).rejects.toMatchObject({
      code: 'GUTS_DRIVER_ERROR',
      message: expect.stringMatching(/delivered 1048576 bytes but the disk is 2097152/),
    })
  })

  it('stops with GUTS_ABORTED when the signal fires', async () => {
    const controller = new AbortController()
    // Pushes asynchronously, as a socket or file would, so the abort timer gets its turn.
    const endless = new Readable({
      read() {
        setImmediate(() => this.push(Buffer.alloc(BLOCK, 1)))
      },
    })
    const sink = new PassThrough()
    sink.resume()
    setTimeout(() => controller.abort(new Error('test cancel')), 20)
    await expect(copyStreamToSink(endless, sink, { signal: controller.signal })).rejects.toMatchObject({ code: 'GUTS_ABORTED' })
  })

  it('passes every byte to a sink, with progress and hash', async () => {
    const img = sparseImage()
    const sink = new PassThrough()
    const got: Buffer[] = []
    sink.on('data', (c: Buffer) => got.push(c))
    let last = 0
    const r = await copyStreamToSink(chunked(img), sink, { signal: new AbortController().signal, onProgress: (d) => (last = d) })
    expect(Buffer.concat(got).equals(img)).toBe(true)
    expect(last).toBe(img.length)
    expect(r.sha256).toBe(createHash('sha256').update(img).digest('hex'))
  })

  it('detects zero buffers of any length', () => {
    expect(isZero(Buffer.alloc(3 * BLOCK + 17))).toBe(true)
    const b = Buffer.alloc(3 * BLOCK + 17)
    b[3 * BLOCK + 16] = 1
    expect(isZero(b)).toBe(false)
  })
})
