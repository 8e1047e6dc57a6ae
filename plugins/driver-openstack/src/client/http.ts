import { GutsError, type Logger } from '@guts/sdk'
import type { Agent } from 'undici'
import type { Readable } from 'node:stream'
import type { KeystoneAuth } from './auth.js'
import { streamRequest, type StreamResponse } from './stream-request.js'
import { findEndpoint, versionedRoot, type Service } from './catalog.js'
import { apiError, networkError } from './errors.js'

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Statuses that are an answer, not an error (e.g. 404 for "is it gone?"). */
  accept?: number[]
}

export interface ApiResponse<T> {
  status: number
  body: T
  headers: Headers
}

/** Microversions guts needs: compute 2.67 = volume_type in block_device_mapping_v2. */
export const MICROVERSIONS: Partial<Record<Service, string>> = { compute: '2.67' }

const RETRIES = 4
const IDEMPOTENT = new Set(['GET', 'HEAD', 'DELETE', 'PUT'])

/** Backoff for attempt n (0-based): 0.5 s, 1 s, 2 s, 4 s plus jitter, or the server's Retry-After. */
export function backoffMs(attempt: number, retryAfter?: string | null): number {
  const seconds = retryAfter ? Number(retryAfter) : NaN
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000)
  return 500 * 2 ** attempt + Math.floor(Math.random() * 250)
}

/**
 * When a failed call may be repeated. 5xx and 429 only for idempotent methods: a POST that timed
 * out at a proxy may still have created the server. 409 (a resource in a transitional state) for
 * DELETE and GET only, where waiting a bit is the fix.
 */
export function shouldRetry(method: string, status: number): boolean {
  if (status === 429 || status === 503) return IDEMPOTENT.has(method)
  if (status >= 500) return IDEMPOTENT.has(method)
  if (status === 409) return method === 'DELETE' || method === 'GET'
  return false
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GutsError('GUTS_ABORTED', 'Aborted.', { cause: signal.reason }))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new GutsError('GUTS_ABORTED', 'Aborted.', { cause: signal?.reason }))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** JSON calls to the OpenStack services of one cloud, with auth, retries and error mapping. */
export class OpenStackHttp {
  constructor(
    private readonly auth: KeystoneAuth,
    private readonly agent: Agent,
    private readonly iface: string,
    private readonly region: string | undefined,
    private readonly log: Logger,
    private readonly fetchTls: object = {},
  ) {}

  /** The versioned root URL of a service, from the token's catalog. */
  async endpoint(service: Service, signal?: AbortSignal): Promise<string> {
    const session = await this.auth.session(signal)
    return versionedRoot(findEndpoint(session.catalog, service, this.iface, this.region), service, session.projectId)
  }

  async projectId(signal?: AbortSignal): Promise<string> {
    const id = (await this.auth.session(signal)).projectId
    if (!id) throw new GutsError('GUTS_AUTH_FAILED', 'The Keystone token is not scoped to a project.')
    return id
  }

  async roles(signal?: AbortSignal): Promise<string[]> {
    return (await this.auth.session(signal)).roles
  }

  /** A current token, for the upload path that does not go through `request`. */
  async token(signal?: AbortSignal): Promise<string> {
    return (await this.auth.session(signal)).token
  }

  secrets(): string[] {
    return this.auth.secrets()
  }

  get dispatcher(): Agent {
    return this.agent
  }

  /** A streamed request (image data) with this cloud's TLS settings, under Node and Bun alike. */
  stream(url: string, o: { method: 'GET' | 'PUT'; headers: Record<string, string>; body?: Readable; signal?: AbortSignal }): Promise<StreamResponse> {
    return streamRequest(url, { ...o, agent: this.agent, fetchTls: this.fetchTls })
  }

  async request<T = unknown>(service: Service, method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> {
    let reauthed = false
    for (let attempt = 0; ; attempt++) {
      const session = await this.auth.session(o.signal)
      const url = (path.startsWith('http') ? path : `${await this.endpoint(service, o.signal)}${path}`) + queryString(o.query)
      const micro = MICROVERSIONS[service]
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'X-Auth-Token': session.token,
        ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(micro ? { 'OpenStack-API-Version': `${service} ${micro}`, 'X-OpenStack-Nova-API-Version': micro } : {}),
        ...o.headers,
      }
      let response: Response
      try {
        response = await fetch(url, {
          method,
          headers,
          ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          ...this.fetchTls,
          // @ts-expect-error undici's dispatcher option is not in the DOM RequestInit type
          dispatcher: this.agent,
        })
      } catch (error) {
        if (o.signal?.aborted) throw new GutsError('GUTS_ABORTED', `Aborted during ${service} ${method}.`, { cause: error })
        const e = networkError(service, url, error, this.secrets())
        // A refused connection never reached the service, so even a POST is safe to repeat.
        if (attempt < RETRIES && (IDEMPOTENT.has(method) || /ECONNREFUSED/.test(String((error as { cause?: { code?: string } }).cause?.code)))) {
          this.log.debug('openstack: retrying after a network error', { service, method, attempt })
          await sleep(backoffMs(attempt), o.signal)
          continue
        }
        throw e
      }
      const text = await response.text()
      if (response.ok || o.accept?.includes(response.status)) {
        return { status: response.status, body: (text ? parseJson(text, service) : undefined) as T, headers: response.headers }
      }
      if (response.status === 401 && !reauthed) {
        // Token revoked or expired early: log in again, once.
        reauthed = true
        this.auth.invalidate(session.token)
        continue
      }
      if (attempt < RETRIES && shouldRetry(method, response.status)) {
        this.log.debug('openstack: retrying', { service, method, status: response.status, attempt })
        await sleep(backoffMs(attempt, response.headers.get('retry-after')), o.signal)
        continue
      }
      throw apiError(
        { service, method, url, status: response.status, body: text, requestId: requestIdOf(response.headers) },
        this.secrets(),
      )
    }
  }

  /**
   * All items of a list call: follows `<key>_links` rel=next (Nova, Neutron, Cinder) and Glance's
   * `next`, up to `max` items.
   */
  async list<T>(service: Service, path: string, key: string, o: RequestOptions & { max?: number } = {}): Promise<T[]> {
    const items: T[] = []
    let next: string | undefined = path
    let query = o.query
    while (next && items.length < (o.max ?? 10_000)) {
      const r: ApiResponse<Record<string, unknown>> = await this.request<Record<string, unknown>>(service, 'GET', next, { ...o, ...(query ? { query } : {}) })
      const page = (r.body?.[key] ?? []) as T[]
      items.push(...page)
      next = await nextPage(this, service, r.body, key, o.signal)
      query = undefined // the next link carries the query
      if (page.length === 0) break
    }
    return items
  }
}

async function nextPage(http: OpenStackHttp, service: Service, body: Record<string, unknown> | undefined, key: string, signal?: AbortSignal): Promise<string | undefined> {
  const links = body?.[`${key}_links`]
  if (Array.isArray(links)) {
    const next = links.find((l: { rel?: string; href?: string }) => l?.rel === 'next') as { href?: string } | undefined
    return next?.href
  }
  if (typeof body?.next === 'string') {
    // Glance: `/v2/images?marker=…`, relative to the endpoint without its version.
    const root = (await http.endpoint(service, signal)).replace(/\/v\d+(\.\d+)?$/, '')
    return `${root}${body.next}`
  }
  return undefined
}

export function requestIdOf(headers: Headers): string | undefined {
  return headers.get('x-openstack-request-id') ?? headers.get('x-compute-request-id') ?? undefined
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return ''
  const entries = Object.entries(query).filter(([, v]) => v !== undefined) as [string, string | number | boolean][]
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : ''
}

function parseJson(text: string, service: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new GutsError('GUTS_DRIVER_ERROR', `OpenStack ${service} answered with something that is not JSON.`, { cause: error })
  }
}

