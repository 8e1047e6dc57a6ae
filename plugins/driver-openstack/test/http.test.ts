import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@guts/sdk'
import { OpenStackClient } from '../src/client/index.js'
import type { CloudConfig } from '../src/client/cloud-config.js'

/** A loopback stand-in for Keystone, Nova and Glance, counting what it was asked. */
const seen = { logins: 0, flaky: 0, posts: 0, microversion: '', uploaded: 0 }
let server: Server
let base = ''

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', base)
  const token = req.headers['x-auth-token']
  if (req.method === 'POST' && url.pathname === '/v3/auth/tokens') {
    const body = JSON.parse(await new Response(Readable.toWeb(req) as ReadableStream).text())
    if (body.auth.identity.password.user.password !== 'right-password')
      return send(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.' } })
    seen.logins++
    return send(
      res,
      201,
      {
        token: {
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          project: { id: 'p1' },
          catalog: [
            { type: 'compute', endpoints: [{ interface: 'public', region_id: 'R1', url: `${base}/compute/v2.1` }] },
            { type: 'image', endpoints: [{ interface: 'public', region_id: 'R1', url: `${base}/image` }] },
          ],
        },
      },
      { 'X-Subject-Token': `tok-${seen.logins}` },
    )
  }
  if (url.pathname === '/compute/v2.1/servers/detail') {
    seen.microversion = String(req.headers['x-openstack-nova-api-version'] ?? '')
    // The first token is "revoked": the client must log in again, once, and repeat.
    if (token === 'tok-1') return send(res, 401, { error: { message: 'token revoked' } })
    if (url.searchParams.get('marker') === 'a') return send(res, 200, { servers: [{ id: 'b', name: 'b' }] })
    return send(res, 200, {
      servers: [{ id: 'a', name: 'a' }],
      servers_links: [{ rel: 'next', href: `${base}/compute/v2.1/servers/detail?marker=a` }],
    })
  }
  if (url.pathname === '/compute/v2.1/flaky')
    return ++seen.flaky === 1 ? send(res, 503, { error: { message: 'busy' } }) : send(res, 200, { ok: true })
  if (url.pathname === '/compute/v2.1/servers' && req.method === 'POST') {
    seen.posts++
    return send(res, 503, { error: { message: 'busy' } }, { 'x-openstack-request-id': 'req-post' })
  }
  if (url.pathname === '/image/v2/images/full/file') {
    // Answer before reading the body, as Glance does when the store is full.
    res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' })
    res.end('413 Request Entity Too Large: image storage is full')
    return
  }
  const file = /^\/image\/v2\/images\/(\w+)\/file$/.exec(url.pathname)
  if (file && req.method === 'PUT') {
    const hash = createHash('sha512')
    for await (const chunk of req) {
      hash.update(chunk as Buffer)
      seen.uploaded += (chunk as Buffer).length
    }
    images.set(file[1]!, file[1] === 'corrupt' ? 'f'.repeat(128) : hash.digest('hex'))
    return send(res, 204)
  }
  const image = /^\/image\/v2\/images\/(\w+)$/.exec(url.pathname)
  if (image && images.has(image[1]!))
    return send(res, 200, {
      id: image[1],
      name: image[1],
      status: 'active',
      tags: [],
      os_hash_algo: 'sha512',
      os_hash_value: images.get(image[1]!),
    })
  return send(res, 404, { itemNotFound: { message: `no ${url.pathname}` } })
}
const images = new Map<string, string>()

function client(password = 'right-password'): OpenStackClient {
  const config: CloudConfig = {
    authUrl: `${base}/v3`,
    auth: { type: 'password', username: 'u', password, userDomainName: 'Default' },
    project: { name: 'p', domainName: 'Default' },
    region: 'R1',
    interface: 'public',
    insecure: false,
    source: 'test',
  }
  return new OpenStackClient(config, silentLogger)
}

describe('OpenStack HTTP client (loopback mock)', () => {
  beforeAll(async () => {
    server = createServer((req, res) => void handle(req, res).catch((e: unknown) => send(res, 500, { error: { message: String(e) } })))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('logs in again once on a 401, follows next links and sends the Nova microversion', async () => {
    const c = client()
    const servers = await c.http.list<{ id: string }>('compute', '/servers/detail', 'servers')
    expect(servers.map((s) => s.id)).toEqual(['a', 'b'])
    expect(seen.logins).toBe(2)
    expect(seen.microversion).toBe('2.67')
    await c.close()
  })

  it('repeats an idempotent call after a 503, but never a POST', async () => {
    const c = client()
    expect((await c.http.request('compute', 'GET', '/flaky')).body).toEqual({ ok: true })
    expect(seen.flaky).toBe(2)
    const error = await c.nova
      .createServer({ name: 'x', flavorId: 'f', blockDevices: [], portIds: [], metadata: {} })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'GUTS_UNREACHABLE', message: expect.stringContaining('(request req-post)') })
    expect(seen.posts).toBe(1)
    await c.close()
  })

  it('reports a wrong password as GUTS_AUTH_FAILED without the password', async () => {
    const c = client('wrong-password-123')
    const error = await c.http.projectId().catch((e: unknown) => e as Error)
    expect(error).toMatchObject({ code: 'GUTS_AUTH_FAILED' })
    expect((error as Error).message).not.toContain('wrong-password-123')
    expect((error as Error).message).toMatch(
      /^Keystone at http:\/\/127\.0\.0\.1:\d+ rejected the credentials from test: The request you have made requires authentication\.$/,
    )
    await c.close()
  })

  it('streams an upload and ends only after Glance confirmed the same sha512', async () => {
    const c = client()
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'guts')
    await pipeline(
      Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]),
      await c.glance.uploadSink('good', new AbortController().signal),
    )
    expect(seen.uploaded).toBe(data.length)
    const corrupt = pipeline(Readable.from([data]), await c.glance.uploadSink('corrupt', new AbortController().signal))
    await expect(corrupt).rejects.toMatchObject({ code: 'GUTS_VERIFY_FAILED' })
    await c.close()
  })

  it('fails the sink at once when Glance refuses the upload, even while it waits on backpressure', async () => {
    const c = client()
    const chunks = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 1))
    const upload = pipeline(Readable.from(chunks), await c.glance.uploadSink('full', new AbortController().signal))
    await expect(upload).rejects.toMatchObject({ code: 'GUTS_QUOTA_EXCEEDED', message: expect.stringContaining('storage is full') })
    await c.close()
  })
})
