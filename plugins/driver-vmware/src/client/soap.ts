import { GutsError } from '@guts/sdk'
import type { Agent } from 'undici'
import { readFault, type VimFault } from './faults.js'
import { envelope, isObject, parseXml, type XmlArg, type XmlValue } from './xml.js'
import { bunFetchTls, closeAgent, createAgent, type TlsSettings } from './tls.js'

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
export class SoapTransport {
  /** `vmware_soap_session=…`, or undefined before Login. */
  cookie: string | undefined
  /** The API version in SOAPAction; raised to the server's after RetrieveServiceContent. */
  version = '7.0'
  calls = 0
  /** Bun's undici shim ignores the Agent's connect options; its fetch takes `tls` instead. */
  private bunTls: Promise<object> | undefined

  constructor(
    readonly endpoint: URL,
    private readonly agent: Agent,
    private readonly tls: TlsSettings,
  ) {}

  private fetchTls(): Promise<object> {
    if (!('bun' in process.versions)) return Promise.resolve({})
    this.bunTls ??= bunFetchTls(this.endpoint, this.tls).catch((error: unknown) => {
      this.bunTls = undefined
      throw error
    })
    return this.bunTls
  }

  async call(method: string, args: Record<string, XmlArg>, signal?: AbortSignal): Promise<XmlValue | undefined> {
    const body = envelope(method, args)
    let res: Response
    const bunTls = await this.fetchTls()
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        body,
        headers: {
          'Content-Type': 'text/xml; charset=utf-8',
          SOAPAction: `"urn:vim25/${this.version}"`,
          ...(this.cookie ? { Cookie: this.cookie } : {}),
        },
        ...(signal ? { signal } : {}),
        ...bunTls,
        // @ts-expect-error undici's dispatcher option is not in the DOM RequestInit type
        dispatcher: this.agent,
      })
    } catch (error) {
      throw networkError(this.endpoint, method, error, signal)
    }
    this.calls++
    this.keepCookie(res.headers)
    const text = await res.text()
    return readResponse(method, res.status, text)
  }

  /** Agents for other hosts than the endpoint (ESXi hosts serving NFC URLs), by origin. */
  private readonly others = new Map<string, { agent: Agent; tls: Promise<object> }>()

  /**
   * GET a URL with the session cookie (NFC lease disk URLs, datastore `/folder` files), returning
   * the response for its body. A URL on another host than the SDK endpoint is verified against the
   * thumbprint the lease gave for it (vCenter vouches for it over the verified session), else with
   * the session's settings. `headers` adds e.g. `Range`.
   */
  async get(url: string, signal: AbortSignal, thumbprint?: string, headers: Record<string, string> = {}): Promise<Response> {
    const target = new URL(url)
    let agent = this.agent
    let tls = this.fetchTls()
    if (target.origin !== this.endpoint.origin) {
      let other = this.others.get(target.origin)
      if (!other) {
        const settings: TlsSettings = thumbprint ? { thumbprint } : this.tls
        other = { agent: createAgent(settings), tls: 'bun' in process.versions ? bunFetchTls(target, settings) : Promise.resolve({}) }
        this.others.set(target.origin, other)
      }
      agent = other.agent
      tls = other.tls
    }
    const bunTls = await tls
    try {
      return await fetch(target, {
        headers: { ...headers, ...(this.cookie ? { Cookie: this.cookie } : {}) },
        signal,
        ...bunTls,
        // @ts-expect-error undici's dispatcher option is not in the DOM RequestInit type
        dispatcher: agent,
      })
    } catch (error) {
      throw networkError(target, 'GET', error, signal)
    }
  }

  async closeOthers(): Promise<void> {
    for (const { agent } of this.others.values()) await closeAgent(agent)
    this.others.clear()
  }

  private keepCookie(headers: Headers): void {
    const all = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [headers.get('set-cookie') ?? '']
    for (const c of all) {
      if (c.startsWith(`${SESSION_COOKIE}=`)) this.cookie = c.split(';')[0]
    }
  }
}

/** The `returnval` of a SOAP response, or the fault it carries. Exported for the unit tests. */
export function readResponse(method: string, status: number, text: string): XmlValue | undefined {
  let doc
  try {
    doc = parseXml(text)
  } catch (error) {
    throw new GutsError('GUTS_DRIVER_ERROR', `vSphere ${method}: HTTP ${status}, unreadable XML: ${(error as Error).message}`, { cause: error })
  }
  const body = isObject(doc.Envelope) ? doc.Envelope.Body : undefined
  if (!isObject(body)) {
    const code = status === 503 || status === 502 || status === 504 ? 'GUTS_UNREACHABLE' : 'GUTS_DRIVER_ERROR'
    throw new GutsError(code, `vSphere ${method}: HTTP ${status} without a SOAP body: ${text.slice(0, 200)}`, { retryable: code === 'GUTS_UNREACHABLE' })
  }
  if (isObject(body.Fault)) throw new SoapFaultError(method, readFault(body.Fault))
  const response = body[`${method}Response`]
  return isObject(response) ? response.returnval : undefined
}

function networkError(endpoint: URL, method: string, error: unknown, signal?: AbortSignal): GutsError {
  if (signal?.aborted) return new GutsError('GUTS_ABORTED', `Aborted during vSphere ${method}.`, { cause: signal.reason })
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const why = cause?.message ?? (error as Error).message
  const tlsProblem = /cert|self.signed|TLS|pin|thumbprint/i.test(`${cause?.code ?? ''} ${why}`)
  if (cause && (cause as { name?: string }).name === 'GutsError') return cause as unknown as GutsError
  return new GutsError(tlsProblem ? 'GUTS_AUTH_FAILED' : 'GUTS_UNREACHABLE', `Cannot reach vSphere at ${endpoint.origin}: ${why}`, {
    cause: error,
    retryable: !tlsProblem,
    suggestions: tlsProblem ? ['Self-signed certificate? Pin it with thumbprint (GOVC_THUMBPRINT) or pass caCert; insecure: true only in labs.'] : [],
  })
}
