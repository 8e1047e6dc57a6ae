import { GutsError } from '@guts/sdk'
import { HttpPool, retrying } from '@guts/http'
import { readFault, transportError, type VimFault } from './faults.js'
import { envelope, isObject, parseXml, type XmlArg, type XmlValue } from './xml.js'

/** A SOAP fault, still unmapped: the session decides whether to log in again or give up. */
export class SoapFaultError extends Error {
  constructor(
    readonly method: string,
    readonly fault: VimFault,
  ) {
    super(`${method}: ${fault.name}: ${fault.message}`)
  }
}

/** The cookie vSphere keeps the session in; every call after Login must carry it. */
export const SESSION_COOKIE = 'vmware_soap_session'

/**
 * One HTTP endpoint speaking vim25: POST /sdk with `SOAPAction: urn:vim25/<version>`, the session
 * cookie kept from any response that sets it. Calls return the `returnval` of `<method>Response`.
 */
/**
 * vim25 methods repeated after a dropped connection, a timeout or a 5xx without a SOAP answer
 * (a proxy or a restarting vpxd): reads, and HttpNfcLeaseProgress, which sets a percentage.
 * Not in it, on purpose:
 * - Login: a lost answer may have created a session whose cookie we never saw (it holds one of
 *   vCenter's sessions until it idles out), and a rejected password tried twice counts twice
 *   towards the SSO lockout policy.
 * - ContinueRetrievePropertiesEx: it advances a server-side cursor, so a repeat after a lost
 *   answer returns the page after the lost one and silently skips objects.
 * - Everything that starts or changes something (`*_Task`, ExportVm, ShutdownGuest, lease
 *   Complete/Abort, CreateContainerView): after a lost answer it may be running already.
 * Any call is repeated when the connection was refused: it never reached the server.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'RetrieveServiceContent',
  'CurrentTime',
  'RetrieveProperties',
  'RetrievePropertiesEx',
  'QueryChangedDiskAreas',
  'HttpNfcLeaseProgress',
])

/** One HTTP answer to a SOAP call, read whole. */
interface SoapAnswer {
  status: number
  text: string
  retryAfter: string | null
}

/**
 * One HTTP endpoint speaking vim25: POST /sdk with `SOAPAction: urn:vim25/<version>`, the session
 * cookie kept from any response that sets it. Calls return the `returnval` of `<method>Response`.
 * Connections, TLS (CA bundle, thumbprint pin, insecure; Node and Bun) and retries come from
 * @guts/http.
 */
export class SoapTransport {
  /** `vmware_soap_session=…`, or undefined before Login. */
  cookie: string | undefined
  /** The API version in SOAPAction; raised to the server's after RetrieveServiceContent. */
  version = '7.0'
  calls = 0
  /** Pools for other hosts than the endpoint (ESXi hosts serving NFC URLs), by origin. */
  private readonly others = new Map<string, HttpPool>()

  constructor(
    readonly endpoint: URL,
    private readonly pool: HttpPool,
  ) {}

  async call(method: string, args: Record<string, XmlArg>, signal?: AbortSignal): Promise<XmlValue | undefined> {
    const body = envelope(method, args)
    const idempotent = IDEMPOTENT_METHODS.has(method)
    let answer: SoapAnswer
    try {
      answer = await retrying(() => this.post(method, body, signal), {
        idempotent,
        ...(signal ? { signal } : {}),
        // vSphere sends faults as HTTP 500 with a SOAP body: those are answers, not outages.
        retryAnswer: (a) => (idempotent && (a.status === 429 || a.status >= 500) && !hasSoapEnvelope(a.text) ? a.retryAfter : undefined),
      })
    } catch (error) {
      throw transportError(this.endpoint, method, error, signal)
    }
    return readResponse(method, answer.status, answer.text)
  }

  private async post(method: string, body: string, signal?: AbortSignal): Promise<SoapAnswer> {
    const res = await this.pool.fetch(this.endpoint, {
      method: 'POST',
      body,
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: `"urn:vim25/${this.version}"`,
        ...(this.cookie ? { Cookie: this.cookie } : {}),
      },
      ...(signal ? { signal } : {}),
    })
    this.calls++
    this.keepCookie(res.headers)
    return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') }
  }

  /**
   * GET a URL with the session cookie (NFC lease disk URLs, datastore `/folder` files), returning
   * the response for its body; repeated like an idempotent call until the answer's headers arrive.
   * A URL on another host than the SDK endpoint is verified against the thumbprint the lease gave
   * for it (vCenter vouches for it over the verified session), else with the session's settings.
   * `headers` adds e.g. `Range`.
   */
  async get(url: string, signal: AbortSignal, thumbprint?: string, headers: Record<string, string> = {}): Promise<Response> {
    const target = new URL(url)
    const pool = target.origin === this.endpoint.origin ? this.pool : this.poolFor(target.origin, thumbprint)
    try {
      return await retrying(
        () => pool.fetch(target, { headers: { ...headers, ...(this.cookie ? { Cookie: this.cookie } : {}) }, signal }),
        {
          idempotent: true,
          signal,
          retryAnswer: (r) => {
            if (r.status !== 429 && r.status < 500) return undefined
            void r.body?.cancel().catch(() => undefined)
            return r.headers.get('retry-after')
          },
        },
      )
    } catch (error) {
      throw transportError(target, 'GET', error, signal)
    }
  }

  private poolFor(origin: string, thumbprint: string | undefined): HttpPool {
    let other = this.others.get(origin)
    if (!other) {
      other = new HttpPool(thumbprint ? { thumbprint } : this.pool.tls, { what: 'vSphere', keepAliveTimeout: 30_000, connections: 8 })
      this.others.set(origin, other)
    }
    return other
  }

  async closeOthers(): Promise<void> {
    for (const pool of this.others.values()) await pool.close()
    this.others.clear()
  }

  private keepCookie(headers: Headers): void {
    const all = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [headers.get('set-cookie') ?? '']
    for (const c of all) {
      if (c.startsWith(`${SESSION_COOKIE}=`)) this.cookie = c.split(';')[0]
    }
  }
}

/** Whether a body is a SOAP answer (a fault is one) rather than a proxy's or web server's page. */
function hasSoapEnvelope(text: string): boolean {
  return /<([A-Za-z0-9_-]+:)?Envelope[\s>]/.test(text)
}

/** The `returnval` of a SOAP response, or the fault it carries. Exported for the unit tests. */
export function readResponse(method: string, status: number, text: string): XmlValue | undefined {
  let doc
  try {
    doc = parseXml(text)
  } catch (error) {
    throw new GutsError('GUTS_DRIVER_ERROR', `vSphere ${method}: HTTP ${status}, unreadable XML: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const body = isObject(doc.Envelope) ? doc.Envelope.Body : undefined
  if (!isObject(body)) {
    const code = status === 503 || status === 502 || status === 504 ? 'GUTS_UNREACHABLE' : 'GUTS_DRIVER_ERROR'
    throw new GutsError(code, `vSphere ${method}: HTTP ${status} without a SOAP body: ${text.slice(0, 200)}`, {
      retryable: code === 'GUTS_UNREACHABLE',
    })
  }
  if (isObject(body.Fault)) throw new SoapFaultError(method, readFault(body.Fault))
  const response = body[`${method}Response`]
  return isObject(response) ? response.returnval : undefined
}
