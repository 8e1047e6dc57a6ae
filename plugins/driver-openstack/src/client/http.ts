import { GutsError, isGutsError, type Logger } from '@guts/sdk'
import { retrying, streamRequest, type HttpPool, type StreamRequestOptions, type StreamResponse } from '@guts/http'
import type { KeystoneAuth } from './auth.js'
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

/** One answer, read whole (JSON APIs only; image data goes over `stream`). */
interface Answer {
  status: number
  ok: boolean
  headers: Headers
  text: string
}

/** JSON calls to the OpenStack services of one cloud, with auth, retries and error mapping. */
export class OpenStackHttp {
  constructor(
    private readonly auth: KeystoneAuth,
    readonly pool: HttpPool,
    private readonly iface: string,
    private readonly region: string | undefined,
    private readonly log: Logger,
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

  /** A streamed request (image data) with this cloud's TLS settings, under Node and Bun alike. */
  stream(url: string, o: StreamRequestOptions): Promise<StreamResponse> {
    return streamRequest(this.pool, url, o)
  }

  /**
   * One API call: a token (logging in again once on a 401), retries where repeating is safe
   * (`shouldRetry`; a refused connection for any method, since it never reached the service), and
   * the service's error mapped to a GutsError.
   */
  async request<T = unknown>(service: Service, method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> {
    let url = path
    let answer: Answer
    try {
      answer = await retrying(
        async () => {
          url = (path.startsWith('http') ? path : `${await this.endpoint(service, o.signal)}${path}`) + queryString(o.query)
          return this.send(service, method, url, o)
        },
        {
          idempotent: IDEMPOTENT.has(method),
          attempts: RETRIES,
          ...(o.signal ? { signal: o.signal } : {}),
          retryAnswer: (a) =>
            a.ok || o.accept?.includes(a.status) || !shouldRetry(method, a.status) ? undefined : a.headers.get('retry-after'),
          onRetry: ({ attempt, reason }) => this.log.debug('openstack: retrying', { service, method, reason, attempt }),
        },
      )
    } catch (error) {
      if (o.signal?.aborted) throw new GutsError('GUTS_ABORTED', `Aborted during ${service} ${method}.`, { cause: error })
      // GutsErrors (a failed login, an unknown endpoint) are already what the user should see.
      throw isGutsError(error) ? error : networkError(service, url, error, this.secrets())
    }
    if (answer.ok || o.accept?.includes(answer.status)) {
      return { status: answer.status, body: (answer.text ? parseJson(answer.text, service) : undefined) as T, headers: answer.headers }
    }
    throw apiError(
      { service, method, url, status: answer.status, body: answer.text, requestId: requestIdOf(answer.headers) },
      this.secrets(),
    )
  }

  /** One attempt; a 401 (token revoked or expired early) logs in again and repeats it, once. */
  private async send(service: Service, method: string, url: string, o: RequestOptions): Promise<Answer> {
    for (let reauthed = false; ; reauthed = true) {
      const session = await this.auth.session(o.signal)
      const micro = MICROVERSIONS[service]
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'X-Auth-Token': session.token,
        ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(micro ? { 'OpenStack-API-Version': `${service} ${micro}`, 'X-OpenStack-Nova-API-Version': micro } : {}),
        ...o.headers,
      }
      const response = await this.pool.fetch(url, {
        method,
        headers,
        ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      })
      const answer = { status: response.status, ok: response.ok, headers: response.headers, text: await response.text() }
      if (answer.status !== 401 || reauthed) return answer
      this.auth.invalidate(session.token)
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
      const r: ApiResponse<Record<string, unknown>> = await this.request<Record<string, unknown>>(service, 'GET', next, {
        ...o,
        ...(query ? { query } : {}),
      })
      const page = (r.body?.[key] ?? []) as T[]
      items.push(...page)
      next = await nextPage(this, service, r.body, key, o.signal)
      query = undefined // the next link carries the query
      if (page.length === 0) break
    }
    return items
  }
}

async function nextPage(
  http: OpenStackHttp,
  service: Service,
  body: Record<string, unknown> | undefined,
  key: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
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
