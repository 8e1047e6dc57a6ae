import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { GutsError } from '../src/errors.js'
import { classifyNetworkError, isBun, networkError } from '../src/net.js'

/** What undici's fetch throws: `TypeError: fetch failed` with the real error as cause. */
const undici = (code: string, message: string): Error =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) })
/** What Bun's fetch throws: the code on the error itself. */
const bun = (code: string, message: string): Error => Object.assign(new TypeError(message), { code })

describe('classifyNetworkError', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ConnectionRefused', 'refused'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['ConnectionClosed', 'reset'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EHOSTUNREACH', 'unreachable'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'protocol'],
  ])('%s → %s, from Node/undici and Bun alike', (code, kind) => {
    expect(classifyNetworkError(undici(code, `boom ${code}`))).toMatchObject({ kind, code, message: `boom ${code}` })
    expect(classifyNetworkError(bun(code, `boom ${code}`))).toMatchObject({ kind, code })
  })

  it('walks deep (and cyclic) cause chains and reads AbortSignal.timeout()', () => {
    const inner = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    const deep = new Error('outer', { cause: new Error('middle', { cause: inner }) })
    expect(classifyNetworkError(deep)).toMatchObject({ kind: 'reset', message: 'read ECONNRESET' })
    const a = new Error('a') as Error & { cause?: unknown }
    a.cause = new Error('b', { cause: a })
    expect(classifyNetworkError(a).kind).toBe('unknown')
    expect(classifyNetworkError(Object.assign(new Error('The operation timed out.'), { name: 'TimeoutError' })).kind).toBe('timeout')
    expect(classifyNetworkError('just a string')).toMatchObject({ kind: 'unknown', message: 'just a string' })
    // ssh2, for SSH clients: a handshake timeout has a level and no code.
    expect(classifyNetworkError(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' })).kind).toBe(
      'timeout',
    )
  })

  it('finds a GutsError a TLS connector put in the chain', () => {
    const pin = new GutsError('GUTS_AUTH_FAILED', 'TLS pin failed')
    expect(classifyNetworkError(new TypeError('fetch failed', { cause: pin }))).toMatchObject({ kind: 'tls', guts: pin })
  })

  it('reads a real refused connection', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)
    expect(classifyNetworkError(error).kind).toBe('refused')
  })
})

describe('networkError', () => {
  const ctx = { what: 'OpenStack identity', endpoint: 'http://127.0.0.1:5000/v3/auth/tokens?secret=1' }

  it('a TLS verification failure is GUTS_AUTH_FAILED, not retryable, with trust suggestions', () => {
    const e = networkError(undici('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), ctx)
    expect(e).toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      retryable: false,
      details: { network: { kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' } },
    })
    expect(e.message).toBe(
      'TLS verification failed for OpenStack identity at http://127.0.0.1:5000: self-signed certificate in certificate chain',
    )
    expect(e.suggestions.join(' ')).toMatch(/CA bundle.*thumbprint.*insecure/)
    expect(
      networkError(bun('DEPTH_ZERO_SELF_SIGNED_CERT', 'self signed certificate'), { ...ctx, hints: { tls: ['Set caCert.'] } }).suggestions,
    ).toEqual(['Set caCert.'])
  })

  it('refused and dns are unreachable, reset and timeout retryable too, with the origin only', () => {
    const refused = networkError(undici('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5000'), ctx)
    expect(refused).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: false })
    expect(refused.message).toBe('Cannot reach OpenStack identity at http://127.0.0.1:5000: connect ECONNREFUSED 127.0.0.1:5000')
    expect(networkError(undici('ENOTFOUND', 'getaddrinfo ENOTFOUND x'), ctx)).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: false })
    expect(networkError(undici('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x'), ctx)).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: true })
    expect(networkError(undici('UND_ERR_SOCKET', 'other side closed'), ctx)).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: true })
    expect(networkError(bun('ETIMEDOUT', 'timed out'), ctx)).toMatchObject({ code: 'GUTS_UNREACHABLE', retryable: true })
  })

  it('redacts, keeps a GutsError from the chain as is, and copes with a bare host', () => {
    const e = networkError(undici('ECONNRESET', 'reset while sending p4ss'), { ...ctx, redact: (t) => t.replace('p4ss', '***') })
    expect(e.message).toMatch(/sending \*\*\*$/)
    const pin = new GutsError('GUTS_AUTH_FAILED', 'TLS pin failed')
    expect(networkError(new TypeError('fetch failed', { cause: pin }), ctx)).toBe(pin)
    expect(networkError(bun('ECONNREFUSED', 'refused'), { what: 'Hyper-V', endpoint: 'hv01:22' }).message).toBe(
      'Cannot reach Hyper-V at hv01:22: refused',
    )
  })

  it('knows which runtime it is in', () => {
    expect(isBun()).toBe('bun' in process.versions)
  })
})
