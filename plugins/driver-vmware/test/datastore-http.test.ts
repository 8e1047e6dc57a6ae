import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SoapTransport } from '../src/client/soap.js'
import { HttpPool } from '@guts/http'
import { folderUrl, parseDatastorePath, rangeReader, readDescriptor, type RangeTarget } from '../src/export/datastore-http.js'

/** Deterministic bytes, so that any misplaced range shows. */
const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251))

const F1 = bytes(4096, 1)
const F2 = bytes(2048 + 4096, 2) // the second extent starts 2048 bytes into its file
const FILES: Record<string, Buffer> = {
  'vm/split.vmdk': Buffer.from(
    '# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\ncreateType="twoGbMaxExtentFlat"\nRW 8 FLAT "split-f001.vmdk" 0\nRW 8 FLAT "split f002.vmdk" 4\n',
  ),
  'vm/split-f001.vmdk': F1,
  'vm/split f002.vmdk': F2,
  'vm/delta.vmdk': Buffer.from(
    '# Disk DescriptorFile\nparentCID=12345678\nparentFileNameHint="split.vmdk"\nRW 16 SESPARSE "delta-sesparse.vmdk"\n',
  ),
}
const DISK = Buffer.concat([F1, F2.subarray(2048)])

/** How the fake datastore misbehaves: `ignore-range` answers 200 with the whole file, `short` cuts the body. */
let mode: 'ok' | 'ignore-range' | 'short' = 'ok'
const seen: { url: string; cookie?: string; range?: string }[] = []

function serve(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x')
  seen.push({
    url: req.url!,
    ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
    ...(req.headers.range ? { range: req.headers.range } : {}),
  })
  const file = FILES[decodeURIComponent(url.pathname.replace(/^\/folder\//, ''))]
  if (!file || url.searchParams.get('dsName') !== 'ds 1' || url.searchParams.get('dcPath') !== 'Europe/DC1') {
    res.statusCode = 404
    return void res.end()
  }
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
  if (!m || mode === 'ignore-range') return void res.end(file)
  const [a, b] = [Number(m[1]), Math.min(Number(m[2]), file.length - 1)]
  res.statusCode = 206
  res.setHeader('content-range', `bytes ${a}-${b}/${file.length}`)
  if (mode === 'short') {
    res.write(file.subarray(a, a + Math.floor((b - a + 1) / 2)))
    return void res.end()
  }
  res.end(file.subarray(a, b + 1))
}

let server: ReturnType<typeof createServer>
let transport: SoapTransport
const pool = new HttpPool({})

beforeAll(async () => {
  server = createServer(serve)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`)
  transport = new SoapTransport(endpoint, pool)
  transport.cookie = 'vmware_soap_session="s1"'
})
afterAll(async () => {
  await pool.close()
  server.closeAllConnections?.()
  await new Promise<void>((r) => server.close(() => r()))
})

async function read(r: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of r) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const signal = new AbortController().signal
const file = parseDatastorePath('[ds 1] vm/split.vmdk')!
const target = (): RangeTarget => ({ transport, descriptor: file, dcPath: 'Europe/DC1', size: DISK.length, what: 'app disk 2000' })

describe('datastore HTTP (/folder)', () => {
  it('parses datastore paths and builds /folder URLs', () => {
    expect(parseDatastorePath('[LocalDS_0] DC0_H0_VM0/disk1.vmdk')).toEqual({ datastore: 'LocalDS_0', path: 'DC0_H0_VM0/disk1.vmdk' })
    expect(parseDatastorePath('no brackets')).toBeUndefined()
    expect(folderUrl(new URL('https://vc/sdk'), { datastore: 'ds 1', path: 'a b/c#.vmdk' }, 'Europe/DC1')).toBe(
      'https://vc/folder/a%20b/c%23.vmdk?dcPath=Europe%2FDC1&dsName=ds%201',
    )
  })

  it('reads the descriptor with the session cookie and offers readRange over flat extents', async () => {
    seen.length = 0
    mode = 'ok'
    const d = await readDescriptor(transport, folderUrl(transport.endpoint, file, 'Europe/DC1'), signal)
    expect(seen[0]).toMatchObject({ cookie: 'vmware_soap_session="s1"', range: 'bytes=0-65535' })
    const access = rangeReader(target(), d)
    if (!('readRange' in access)) throw new Error(access.reason)
    // Within the first extent, across both (two Range requests, the second at the extent offset), the very end.
    expect((await read(await access.readRange(100, 1000, signal))).equals(DISK.subarray(100, 1100))).toBe(true)
    seen.length = 0
    expect((await read(await access.readRange(4000, 1000, signal))).equals(DISK.subarray(4000, 5000))).toBe(true)
    expect(seen.map((s) => [decodeURIComponent(new URL(s.url, 'http://x').pathname), s.range])).toEqual([
      ['/folder/vm/split-f001.vmdk', 'bytes=4000-4095'],
      ['/folder/vm/split f002.vmdk', 'bytes=2048-2951'],
    ])
    expect((await read(await access.readRange(DISK.length - 10, 10, signal))).equals(DISK.subarray(-10))).toBe(true)
    expect((await read(await access.readRange(5, 0, signal))).length).toBe(0)
    await expect(access.readRange(DISK.length - 10, 11, signal)).rejects.toMatchObject({
      code: 'GUTS_DRIVER_ERROR',
      message: expect.stringMatching(/outside the disk/),
    })
  })

  it('no readRange for a delta disk, or a descriptor that does not add up to the disk', async () => {
    const delta = await readDescriptor(
      transport,
      folderUrl(transport.endpoint, { datastore: 'ds 1', path: 'vm/delta.vmdk' }, 'Europe/DC1'),
      signal,
    )
    expect(rangeReader(target(), delta)).toEqual({ reason: 'its snapshot disk is a delta of a parent disk' })
    const d = await readDescriptor(transport, folderUrl(transport.endpoint, file, 'Europe/DC1'), signal)
    expect(rangeReader({ ...target(), size: DISK.length * 2 }, d)).toMatchObject({ reason: expect.stringMatching(/not the disk's/) })
    expect(rangeReader(target(), undefined)).toMatchObject({ reason: expect.stringMatching(/sparse/) })
    for (const file of ['vsan://52e5a1b2/disk', '/vmfs/volumes/ds2/vm/disk-flat.vmdk']) {
      const elsewhere = { ...d!, extents: [{ ...d!.extents[0]!, file, size: DISK.length }] }
      expect(rangeReader(target(), elsewhere)).toEqual({ reason: 'its extents are not files next to its descriptor' })
    }
  })

  it('a missing descriptor is GUTS_NOT_FOUND', async () => {
    await expect(
      readDescriptor(transport, folderUrl(transport.endpoint, { datastore: 'ds 1', path: 'vm/none.vmdk' }, 'Europe/DC1'), signal),
    ).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
  })

  it('a server that ignores Range, or a short body, is a clear error', async () => {
    const d = await readDescriptor(transport, folderUrl(transport.endpoint, file, 'Europe/DC1'), signal)
    const access = rangeReader(target(), d)
    if (!('readRange' in access)) throw new Error(access.reason)
    try {
      mode = 'ignore-range'
      await expect(access.readRange(100, 1000, signal)).rejects.toMatchObject({
        code: 'GUTS_UNSUPPORTED',
        message: expect.stringMatching(/ignored the Range header reading app disk 2000/),
      })
      mode = 'short'
      await expect(read(await access.readRange(100, 1000, signal))).rejects.toMatchObject({
        code: 'GUTS_UNREACHABLE',
        message: expect.stringMatching(/ended after 500 of 1000 bytes/),
      })
    } finally {
      mode = 'ok'
    }
  })
})
