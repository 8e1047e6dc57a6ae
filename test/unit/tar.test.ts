import { beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { findTarMember, listTarMembers, parseNumericField, parsePax, readTarMemberText } from '../../src/drivers/files/tar-reader.js'
import { ustarHeader, writeTar } from '../fixtures/tar-writer.js'
import { errorOf } from '../helpers/error-of.js'
import { tempDir } from '../helpers/cli.js'

let dir: string

/** The bytes of one member, read the way the files driver does: by offset. */
async function bytesAt(path: string, offset: number, size: number): Promise<Buffer> {
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(size)
    await fh.read(buf, 0, size, offset)
    return buf
  } finally {
    await fh.close()
  }
}

const LONG_DIR = `${'deep-folder-name/'.repeat(5)}and-more`
const LONG_NAME = `${'a-very-long-member-name-'.repeat(6)}.vmdk`

beforeAll(async () => {
  dir = tempDir('guts-tar-')
  await writeFile(join(dir, 'small.ovf'), '<Envelope/>\n')
  await writeFile(join(dir, 'exact.bin'), Buffer.alloc(1024, 7))
  await writeFile(join(dir, 'odd.bin'), Buffer.from('x'.repeat(777)))
  await writeFile(join(dir, 'empty.bin'), '')
  await mkdir(join(dir, LONG_DIR), { recursive: true })
  await writeFile(join(dir, LONG_DIR, LONG_NAME), Buffer.from('long one'))
  await writeFile(join(dir, LONG_DIR, 'odd.bin'), Buffer.from('x'.repeat(777)))
})

describe('tar writer + reader', () => {
  it('round-trips members with exact offsets, sizes and contents', async () => {
    const out = join(dir, 'ours.ova')
    const inputs = ['small.ovf', 'exact.bin', 'empty.bin', 'odd.bin'].map((name) => ({ name, path: join(dir, name) }))
    // 100+ bytes: needs the ustar prefix field.
    inputs.push({ name: `${LONG_DIR}/odd.bin`, path: join(dir, LONG_DIR, 'odd.bin') })
    await writeTar(out, inputs)
    const members = await listTarMembers(out)
    expect(members.map((m) => [m.name, m.size, m.type])).toEqual([
      ['small.ovf', 12, 'file'],
      ['exact.bin', 1024, 'file'],
      ['empty.bin', 0, 'file'],
      ['odd.bin', 777, 'file'],
      [inputs[4]!.name, 777, 'file'],
    ])
    expect(members[0]!.offset).toBe(512)
    for (const [i, m] of members.entries()) {
      expect((await bytesAt(out, m.offset, m.size)).equals(await readFile(inputs[i]!.path))).toBe(true)
    }
    expect(await readTarMemberText(out, members[0]!)).toBe('<Envelope/>\n')
    // GNU tar agrees with the writer.
    expect(execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n')).toEqual(inputs.map((x) => x.name))
  })

  it('reads GNU long names and pax headers written by GNU tar', async () => {
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = join(dir, `${format}.tar`)
      const member = format === 'ustar' ? `${LONG_DIR}/odd.bin` : `${LONG_DIR}/${LONG_NAME}`
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', dir, 'small.ovf', member])
      const members = (await listTarMembers(out)).filter((m) => m.type === 'file')
      expect(members.map((m) => m.name)).toEqual(['small.ovf', member])
      const last = members[1]!
      const expected = await readFile(join(dir, member))
      expect((await bytesAt(out, last.offset, last.size)).equals(expected)).toBe(true)
    }
  })

  it('lists directory members as directories', async () => {
    const out = join(dir, 'withdir.tar')
    execFileSync('tar', ['--format=gnu', '-cf', out, '-C', dir, 'deep-folder-name/deep-folder-name'], { maxBuffer: 1 << 20 })
    const members = await listTarMembers(out)
    expect(members[0]).toMatchObject({ name: 'deep-folder-name/deep-folder-name/', type: 'directory' })
  })

  it('refuses files that are not tar archives, and truncated ones', async () => {
    const notTar = join(dir, 'not.ova')
    await writeFile(notTar, Buffer.alloc(2048, 0x41))
    expect((await errorOf(listTarMembers(notTar))).code).toBe('GUTS_UNSUPPORTED')
    const full = join(dir, 'ours.ova')
    const cut = join(dir, 'cut.ova')
    const bytes = await readFile(full)
    await writeFile(cut, bytes.subarray(0, 512 + 512 + 100)) // ends inside exact.bin
    const e = await errorOf(listTarMembers(cut))
    expect(e.code).toBe('GUTS_UNSUPPORTED')
    expect(e.message).toMatch(/truncated/)
  })

  it('finds members by href whatever their ./ or folder prefix', () => {
    const members = [
      { name: './desc.ovf', offset: 512, size: 1, type: 'file' as const },
      { name: 'vm/disk1.vmdk', offset: 1536, size: 1, type: 'file' as const },
    ]
    expect(findTarMember(members, 'desc.ovf')?.offset).toBe(512)
    expect(findTarMember(members, 'disk1.vmdk')?.offset).toBe(1536)
    expect(findTarMember(members, 'nope.vmdk')).toBeUndefined()
  })
})

describe('tar fields', () => {
  it('parses GNU base-256 sizes for members of 8 GiB and more', () => {
    const header = ustarHeader('big.vmdk', 10 * 2 ** 30)
    expect(header[124]! & 0x80).toBe(0x80)
    expect(parseNumericField(header, 124, 12)).toBe(10 * 2 ** 30)
    expect(parseNumericField(ustarHeader('small', 0o777), 124, 12)).toBe(0o777)
  })

  it('parses pax records, including values with spaces and "="', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`
      let len = body.length + 1
      while (String(len).length + body.length !== len) len++
      return `${len}${body}`
    }
    const data = Buffer.from(rec('path', 'a b=c.vmdk') + rec('size', '12884901888'))
    expect(parsePax(data)).toEqual({ path: 'a b=c.vmdk', size: '12884901888' })
  })
})
