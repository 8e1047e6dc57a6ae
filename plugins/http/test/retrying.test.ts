import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpPool, retrying, retryableFailure, retryableStatus } from '../src/index.js'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()))
})

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<string> {
  let n = 0
  const server = createServer((req, res) => handler(req, res, n++))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

const reset = Object.assign(new TypeError('fetch failed'), {
  cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
})
const refused = Object.assign(new TypeError('fetch failed'), {
  cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
})

describe('retrying', () => {
  it('repeats an idempotent call after a dropped connection, and a non-idempotent one never', async () => {
    const url = await serve((req, res, n) => (n === 0 ? req.socket.destroy() : res.end('ok')))
    const pool = new HttpPool({})
    const retries: string[] = []
    const r = await retrying(async () => (await pool.fetch(url)).text(), { idempotent: true, onRetry: (i) => retries.push(i.reason) })
    expect(r).toBe('ok')
    expect(retries).toHaveLength(1)
    const once = await serve((req) => req.socket.destroy())
    let calls = 0
    await expect(
      retrying(
        async () => {
          calls++
          return (await pool.fetch(once, { method: 'POST' })).text()
        },
        { idempotent: false },
      ),
    ).rejects.toThrow()
    expect(calls).toBe(1)
    await pool.close()
  })

  it('repeats 503 and 429 answers with Retry-After, up to the attempts, then returns the last answer', async () => {
    const url = await serve((_req, res, n) => (n < 2 ? res.writeHead(n ? 429 : 503, { 'retry-after': '0' }).end() : res.end('ok')))
    const pool = new HttpPool({})
    const done = await retrying(() => pool.fetch(url).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() })), {
      idempotent: true,
      retryAnswer: retryableStatus(true),
    })
    expect(done).toMatchObject({ status: 200, text: 'ok' })
    const always = await serve((_req, res) => res.writeHead(503, { 'retry-after': '0' }).end())
    let calls = 0
    const last = await retrying(
      async () => {
        calls++
        const r = await pool.fetch(always)
        await r.text()
        return r
      },
      { idempotent: true, attempts: 2, retryAnswer: retryableStatus(true) },
    )
    expect([last.status, calls]).toEqual([503, 3])
    calls = 0
    await retrying(
      async () => {
        calls++
        const r = await pool.fetch(always, { method: 'POST' })
        await r.text()
        return r
      },
      { idempotent: false, retryAnswer: retryableStatus(false) },
    )
    expect(calls).toBe(1)
    await pool.close()
  })

  it('knows which failures may be repeated', () => {
    expect(retryableFailure(refused, false)).toBe('ECONNREFUSED')
    expect(retryableFailure(reset, true)).toBe('UND_ERR_SOCKET')
    expect(retryableFailure(reset, false)).toBeUndefined()
    expect(retryableFailure(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), true)).toBeUndefined()
    expect(retryableFailure(Object.assign(new Error('gone'), { name: 'GutsError', code: 'GUTS_AUTH_FAILED' }), true)).toBeUndefined()
  })

  it('stops at once when aborted', async () => {
    const c = new AbortController()
    c.abort()
    let calls = 0
    await expect(
      retrying(
        async () => {
          calls++
          throw reset
        },
        { idempotent: true, signal: c.signal },
      ),
    ).rejects.toBe(reset)
    expect(calls).toBe(1)
  })
})
