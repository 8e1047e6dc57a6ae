import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpPool, streamRequest } from '../src/index.js'
import { testCertificate } from '../src/testing/index.js'

/**
 * Disk data (Glance upload and download, NFC) goes over `streamRequest`, which must honour the
 * pool's CA bundle and insecure switch under Node (undici pool) and under Bun (fetch `tls`): a private-CA
 * cloud works with its CA, fails without it, and works with insecure. Loopback only.
 */
const { certPath: CERT, cert, key } = testCertificate()
const DATA = randomBytes(3 * 1024 * 1024 + 17)

let server: Server
let url = ''
const received: string[] = []

beforeAll(async () => {
  server = createServer({ cert, key }, (req, res) => {
    if (req.method === 'PUT') {
      const hash = createHash('sha256')
      req.on('data', (c: Buffer) => hash.update(c))
      req.on('end', () => {
        received.push(hash.digest('hex'))
        res.writeHead(204).end()
      })
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(DATA)
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/images/x/file`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

async function call(tls: { caCert?: string; insecure?: boolean }, method: 'GET' | 'PUT') {
  const pool = new HttpPool(tls)
  try {
    const r = await streamRequest(pool, url, {
      method,
      headers: {},
      ...(method === 'PUT' ? { body: Readable.from([DATA.subarray(0, 1000), DATA.subarray(1000)]) } : {}),
    })
    const chunks: Buffer[] = []
    for await (const c of r.body as AsyncIterable<Buffer>) chunks.push(c)
    const body = Buffer.concat(chunks)
    return { status: r.status, body }
  } finally {
    await pool.close()
  }
}

describe('streamed image data over TLS', () => {
  it('with the CA bundle: a download arrives whole and an upload is streamed through', async () => {
    const got = await call({ caCert: CERT }, 'GET')
    expect(got.status).toBe(200)
    expect(got.body.equals(DATA)).toBe(true)
    expect((await call({ caCert: CERT }, 'PUT')).status).toBe(204)
    expect(received.at(-1)).toBe(createHash('sha256').update(DATA).digest('hex'))
  })

  it('without it the private certificate is refused', async () => {
    await expect(call({}, 'GET')).rejects.toThrow()
  })

  it('with insecure: true it is accepted', async () => {
    expect((await call({ insecure: true }, 'GET')).status).toBe(200)
  })
})
