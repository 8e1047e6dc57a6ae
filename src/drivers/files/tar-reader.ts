import { open, type FileHandle } from 'node:fs/promises'
import { GutsError, throwIfAborted } from '@guts/sdk'

/**
 * A minimal POSIX tar reader for OVA packages. It reads only the 512-byte headers (plus the small
 * GNU long-name and pax records) and *seeks over* member data, so listing a 100 GiB OVA reads a
 * few KiB. Members are then read in place by byte offset (qemu-img's raw driver window, or
 * readTarMemberText for the descriptor). Understands ustar (with prefix), GNU `L`/`K` long names,
 * GNU base-256 sizes (members ≥ 8 GiB) and pax `x` headers (`path`, `size`).
 */
export interface TarMember {
  name: string
  /** Byte offset of the member's data in the tar file. */
  offset: number
  size: number
  type: 'file' | 'directory' | 'other'
}

const BLOCK = 512
/** Long-name and pax records are tiny; anything bigger is a corrupt or hostile file. */
const MAX_META_BYTES = 1024 * 1024

function tarError(path: string, message: string): GutsError {
  return new GutsError('GUTS_UNSUPPORTED', `${path} is not a readable tar/OVA archive: ${message}.`, {
    suggestions: ['Check the file with `tar -tvf <file>`; re-download or re-export it if tar fails too.'],
  })
}

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length)
  const nul = slice.indexOf(0)
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8')
}

/** Octal numeric field, or GNU base-256 when the high bit of the first byte is set. */
export function parseNumericField(buf: Buffer, start: number, length: number): number {
  const first = buf[start]!
  if (first & 0x80) {
    let value = first & 0x7f
    for (let i = 1; i < length; i++) value = value * 256 + buf[start + i]!
    return value
  }
  const text = cString(buf, start, length).trim()
  return text === '' ? 0 : parseInt(text, 8)
}

function checksumOk(header: Buffer): boolean {
  const stored = parseNumericField(header, 148, 8)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
  return sum === stored
}

/** Parses pax records: `"<len> <key>=<value>\n"` repeated. */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos)
    if (space < 0) break
    const len = parseInt(data.subarray(pos, space).toString('ascii'), 10)
    if (!Number.isFinite(len) || len <= 0) break
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    pos += len
  }
  return out
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done === length ? buf : buf.subarray(0, done)
}

/** Lists the members of a tar file with their data offsets. */
export async function listTarMembers(path: string, signal?: AbortSignal): Promise<TarMember[]> {
  const fh = await open(path, 'r')
  try {
    const { size: fileSize } = await fh.stat()
    const members: TarMember[] = []
    let pos = 0
    let longName: string | undefined
    let pax: Record<string, string> = {}
    while (pos < fileSize) {
      throwIfAborted(signal)
      const header = await readExactly(fh, BLOCK, pos)
      if (header.length < BLOCK) throw tarError(path, `truncated header at byte ${pos}`)
      if (header.every((b) => b === 0)) break // end-of-archive marker
      if (!checksumOk(header)) throw tarError(path, `bad header checksum at byte ${pos}`)
      const typeflag = String.fromCharCode(header[156]!)
      let size = parseNumericField(header, 124, 12)
      const dataOffset = pos + BLOCK
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK
      if (typeflag === 'L' || typeflag === 'x' || typeflag === 'K' || typeflag === 'g') {
        if (size > MAX_META_BYTES) throw tarError(path, `oversized metadata record at byte ${pos}`)
        const data = await readExactly(fh, size, dataOffset)
        if (typeflag === 'L') longName = cString(data, 0, data.length)
        if (typeflag === 'x') pax = parsePax(data)
        // 'K' (long link target) and 'g' (global pax) say nothing guts needs.
        pos = next
        continue
      }
      if (pax.size !== undefined) size = Number(pax.size)
      const magic = cString(header, 257, 6)
      const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : ''
      const shortName = cString(header, 0, 100)
      const name = pax.path ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName)
      const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other'
      if (type === 'file' && dataOffset + size > fileSize) throw tarError(path, `member "${name}" is truncated (the file ends early)`)
      members.push({ name, offset: dataOffset, size, type })
      longName = undefined
      pax = {}
      pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK
    }
    return members
  } finally {
    await fh.close()
  }
}

/** Reads a small member (the .ovf, the .mf) as UTF-8; refuses anything over `maxBytes`. */
export async function readTarMemberText(path: string, member: TarMember, maxBytes = 16 * 1024 * 1024): Promise<string> {
  if (member.size > maxBytes) throw tarError(path, `member "${member.name}" is ${member.size} bytes, too large for a descriptor`)
  const fh = await open(path, 'r')
  try {
    return (await readExactly(fh, member.size, member.offset)).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** Member names may carry `./` or directory prefixes; OVF hrefs name the file alone. */
export function findTarMember(members: readonly TarMember[], href: string): TarMember | undefined {
  const clean = (n: string) => n.replace(/^(\.\/)+/, '')
  const want = clean(href)
  return (
    members.find((m) => m.type === 'file' && clean(m.name) === want) ??
    members.find((m) => m.type === 'file' && clean(m.name).split('/').pop() === want)
  )
}
