import { diskError } from './disk-error.js'

/** A remote or local file read at arbitrary offsets; several reads may be in flight at once. */
export interface RandomAccessFile {
  /** Name for messages (the Windows path, e.g. C:\Hyper-V\Virtual Hard Disks\web01.vhdx). */
  readonly name: string
  readonly size: number
  /** Exactly `length` bytes at `offset`; reading past the end is an error. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer>
}

/**
 * Reads a structure the format says is at `offset`: a structure that would lie past the end of
 * the file means the file is truncated or damaged, and says so (instead of the transport's error).
 */
export async function readStructure(
  file: RandomAccessFile,
  offset: number,
  length: number,
  what: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (offset < 0 || offset + length > file.size) {
    throw diskError(
      file,
      `the ${what} at byte ${offset} (${length} bytes) lies beyond the end of the file (${file.size} bytes): the file is truncated or damaged`,
    )
  }
  const buf = await file.read(offset, length, signal)
  if (buf.length !== length) throw diskError(file, `reading the ${what} returned ${buf.length} bytes instead of ${length}`)
  return buf
}

/** Largest single read of a table (BATs of big disks with small blocks reach hundreds of MiB). */
const TABLE_SLICE = 4 * 1024 * 1024
const TABLE_READS_IN_FLIGHT = 8

/** Reads a large table in slices, a few in flight, into one buffer. */
export async function readTable(
  file: RandomAccessFile,
  offset: number,
  length: number,
  what: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (length <= TABLE_SLICE) return readStructure(file, offset, length, what, signal)
  const out = Buffer.allocUnsafe(length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < length) {
      const at = next
      const n = Math.min(TABLE_SLICE, length - at)
      next += n
      const part = await readStructure(file, offset + at, n, what, signal)
      part.copy(out, at)
    }
  }
  await Promise.all(Array.from({ length: TABLE_READS_IN_FLIGHT }, worker))
  return out
}
