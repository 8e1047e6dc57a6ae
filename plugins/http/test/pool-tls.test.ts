import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { networkError } from '@guts/sdk'
import { HttpPool, normalizeThumbprint, pinCheck, type TlsSettings } from '../src/index.js'
import { testCertificate } from '../src/testing/index.js'

/**
 * The trust settings reach the wire under Node (undici Agent) and Bun (fetch `tls`) alike: the
 * self-signed test server is refused by default, accepted with its CA, its SHA-1 or SHA-256 pin,
 * or insecure, and refused with another pin. Loopback only.
 */
const cert = testCertificate()
let server: Server
let url = ''

beforeAll(async () => {
  server = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('hello'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/x`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

async function get(tls: TlsSettings): Promise<string> {
  const pool = new HttpPool(tls, { what: 'the test server' })
  try {
    return await (await pool.fetch(url)).text()
  } catch (error) {
    throw networkError(error, { what: 'the test server', endpoint: url })
  } finally {
    await pool.close()
  }
}

describe('HttpPool trust settings', () => {
  it('accepts the server with its CA, its SHA-1 or SHA-256 pin (any case), or insecure', async () => {
    for (const tls of [
      { caCert: cert.certPath },
      { thumbprint: cert.sha1.toLowerCase() },
      { thumbprint: cert.sha256.replace(/:/g, '') },
      { insecure: true },
    ]) {
      expect(await get(tls)).toBe('hello')
    }
  })

  it('refuses it by default, as a TLS failure (GUTS_AUTH_FAILED, not retryable)', async () => {
    await expect(get({})).rejects.toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      retryable: false,
      message: expect.stringMatching(/^TLS verification failed for the test server/),
    })
  })

  it('refuses another pinned certificate', async () => {
    await expect(get({ thumbprint: cert.sha256.replace('A3:', 'A4:') })).rejects.toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      message: expect.stringMatching(/TLS pin failed/),
    })
  })
})

describe('thumbprints', () => {
  it('normalises SHA-1 and SHA-256 pins and rejects anything else', () => {
    expect(normalizeThumbprint('2c11edd713877db57418b81c42c2561f0db95bb9')).toBe(
      '2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B9',
    )
    expect(normalizeThumbprint(cert.sha256.toLowerCase())).toBe(cert.sha256)
    expect(() => normalizeThumbprint('AA:BB')).toThrow(/40 hex digits/)
  })

  it('checks the hash the pin names', () => {
    const raw = Buffer.from(cert.cert.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    expect(pinCheck(cert.sha1)('h', { raw } as never)).toBeUndefined()
    expect(pinCheck(cert.sha256)('h', { raw } as never)).toBeUndefined()
    expect(pinCheck(cert.sha256.replace('A3', 'B3'))('h', { raw } as never)?.message).toMatch(/does not match the pinned B3:/)
  })
})

describe('the shared test certificate', () => {
  it('is the one the tests pin (vSphere-style SHA-1 and SHA-256 fingerprints)', () => {
    expect(cert.sha1).toBe('13:44:93:56:80:28:5D:3E:DF:B9:E4:8F:24:44:07:D8:00:E3:0F:21')
    expect(cert.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  })
})
