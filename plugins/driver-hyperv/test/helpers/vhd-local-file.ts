import { open } from 'node:fs/promises'
import type { RandomAccessFile } from '../../src/vhd/random-access.js'

export interface LocalFile extends RandomAccessFile {
  close(): Promise<void>
}

/** A RandomAccessFile over a local file, as the SFTP transport gives one over a remote file. */
export async function openLocalFile(path: string, name = path): Promise<LocalFile> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  return {
    name,
    size,
    async read(offset, length, signal) {
      signal?.throwIfAborted()
      if (offset < 0 || offset + length > size) throw new RangeError(`${name}: read of ${length} at ${offset} is past the end (${size})`)
      const buf = Buffer.allocUnsafe(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done)
        if (bytesRead === 0) throw new Error(`${name}: unexpected end of file at ${offset + done}`)
        done += bytesRead
      }
      return buf
    },
    close: () => handle.close(),
  }
}

export interface ReadStats {
  reads: number
  bytes: number
  /** Most reads in flight at once. */
  maxInFlight: number
}

/** Wraps a file to count what is read through it. */
export function countingFile(file: RandomAccessFile): { file: RandomAccessFile; stats: ReadStats } {
  const stats: ReadStats = { reads: 0, bytes: 0, maxInFlight: 0 }
  let inFlight = 0
  return {
    stats,
    file: {
      name: file.name,
      size: file.size,
      async read(offset, length, signal) {
        stats.reads++
        stats.bytes += length
        stats.maxInFlight = Math.max(stats.maxInFlight, ++inFlight)
        try {
          return await file.read(offset, length, signal)
        } finally {
          inFlight--
        }
      },
    },
  }
}

/** A RandomAccessFile over a buffer (for disks built in memory). */
export function memoryFile(name: string, data: Buffer): RandomAccessFile {
  return {
    name,
    size: data.length,
    async read(offset, length) {
      if (offset < 0 || offset + length > data.length) throw new RangeError(`${name}: read of ${length} at ${offset} is past the end`)
      return Buffer.from(data.subarray(offset, offset + length))
    },
  }
}
