import { GutsError, isGutsError } from './errors.js'

/**
 * Network failures, classified once for every driver, so that the same broken link gives the same
 * GutsError code whether vSphere, OpenStack or an SSH host is behind it. Node (net, tls, undici)
 * and Bun name the failures with codes, sometimes on the error, sometimes on a `cause` some levels
 * down (`TypeError: fetch failed` → `SocketError` → …), so the whole chain is read.
 */

/** True under Bun (tests, the single binary), where `undici` is Bun's shim and fetch takes `tls`. */
export function isBun(): boolean {
  return typeof process !== 'undefined' && 'bun' in process.versions
}

export type NetworkErrorKind =
  /** The server failed to prove who it is: unknown CA, self-signed, expired, wrong name, pin mismatch. */
  | 'tls'
  /** TLS spoken to a plain port (or the reverse), or a handshake both sides could not agree on. */
  | 'protocol'
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'dns'
  /** No route to the host or network. */
  | 'unreachable'
  | 'unknown'

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  // Bun (1.4) uses these same names, on the error itself instead of on a cause.
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/**
 * Every code of one kind: Node's and undici's, and the names older Bun versions gave (Bun 1.4
 * mostly uses Node's: ECONNREFUSED, ECONNRESET, ENOTFOUND, on the error itself).
 */
const KINDS: [NetworkErrorKind, readonly string[]][] = [
  ['refused', ['ECONNREFUSED', 'ConnectionRefused', 'FailedToOpenSocket']],
  ['reset', ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ConnectionClosed', 'ERR_STREAM_PREMATURE_CLOSE']],
  [
    'timeout',
    [
      'ETIMEDOUT',
      'ESOCKETTIMEDOUT',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'TimeoutError',
      'client-timeout',
    ],
  ],
  ['dns', ['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']],
  ['unreachable', ['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']],
  ['protocol', ['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_TLS_HANDSHAKE_TIMEOUT']],
]

export interface NetworkErrorInfo {
  kind: NetworkErrorKind
  /** The code that decided it (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`), if any. */
  code?: string
  /** The innermost message, which says most (`connect ECONNREFUSED 127.0.0.1:5000`). */
  message: string
  /** A GutsError found in the chain (e.g. a thumbprint mismatch raised by a TLS connector). */
  guts?: GutsError
}

/** The errors of a cause chain, outermost first (bounded: chains can be cyclic). */
function chain(err: unknown): unknown[] {
  const out: unknown[] = []
  for (let e = err; e !== undefined && e !== null && out.length < 8 && !out.includes(e); e = (e as { cause?: unknown }).cause) out.push(e)
  return out
}

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined
  const { code, name, level } = e as { code?: unknown; name?: unknown; level?: unknown }
  if (typeof code === 'string' && code) return code
  // AbortSignal.timeout() fires a DOMException named TimeoutError (numeric code).
  if (name === 'TimeoutError') return 'TimeoutError'
  // ssh2 (SSH clients) marks a handshake that timed out by its level, without a code.
  return level === 'client-timeout' ? 'client-timeout' : undefined
}

function kindOf(code: string): NetworkErrorKind | undefined {
  if (TLS_CODES.has(code) || /^ERR_TLS_CERT|^CERT_/.test(code)) return 'tls'
  return KINDS.find(([, codes]) => codes.includes(code))?.[0]
}

/** What went wrong on the wire, from any error a fetch, socket or TLS connect threw. */
export function classifyNetworkError(err: unknown): NetworkErrorInfo {
  const errors = chain(err)
  const innermost = errors.at(-1)
  const message =
    innermost instanceof Error || typeof (innermost as { message?: unknown })?.message === 'string'
      ? String((innermost as Error).message)
      : String(innermost)
  const guts = errors.slice(1).find(isGutsError) ?? (isGutsError(err) ? err : undefined)
  // The innermost code is the most specific (undici wraps a TLS failure in a generic one).
  for (const e of [...errors].reverse()) {
    const code = codeOf(e)
    const kind = code ? kindOf(code) : undefined
    if (kind && code) return { kind, code, message: messageOf(e) ?? message, ...(guts ? { guts } : {}) }
  }
  return { kind: guts?.code === 'GUTS_AUTH_FAILED' ? 'tls' : 'unknown', message, ...(guts ? { guts } : {}) }
}

function messageOf(e: unknown): string | undefined {
  const m = (e as { message?: unknown })?.message
  return typeof m === 'string' && m ? m : undefined
}

export interface NetworkErrorContext {
  /** Who was called, as users know it: "vSphere", "OpenStack identity". */
  what: string
  /** The URL or host:port; only its origin is shown (paths and queries may carry ids or secrets). */
  endpoint: string | URL
  /** Replaces the default suggestions of a kind, e.g. which option holds the CA bundle in this driver. */
  hints?: Partial<Record<NetworkErrorKind, readonly string[]>>
  /** Removes secrets from the shown message. */
  redact?: (text: string) => string
  details?: Record<string, unknown>
}

const DEFAULT_HINTS: Record<NetworkErrorKind, readonly string[]> = {
  tls: [
    'Trust the server explicitly: give the CA bundle that signed its certificate, or pin its SHA-256/SHA-1 thumbprint; skip verification (insecure: true) only in labs.',
  ],
  protocol: ['Check the scheme and port: https:// to a plain HTTP port (or the reverse) fails this way.'],
  refused: ['Check the host and port, and that the service is running and reachable from this machine.'],
  reset: ['The connection dropped; a proxy or load balancer may be cutting it. Retrying often helps.'],
  timeout: ['The server did not answer in time: check firewalls and proxies, then retry.'],
  dns: ["Check the host name (and this machine's DNS)."],
  unreachable: ['Check routes and firewalls between this machine and the server.'],
  unknown: [],
}

/**
 * One GutsError meaning across drivers. A TLS verification failure is GUTS_AUTH_FAILED: the
 * server failed to prove who it is, and retrying cannot fix that. Everything else is
 * GUTS_UNREACHABLE, retryable where the next attempt may well work (reset, timeout, a temporary
 * DNS failure).
 */
export function networkError(err: unknown, ctx: NetworkErrorContext): GutsError {
  const info = classifyNetworkError(err)
  if (info.guts) return info.guts
  const origin = originOf(ctx.endpoint)
  const detail = ctx.redact ? ctx.redact(info.message) : info.message
  const suggestions = [...(ctx.hints?.[info.kind] ?? DEFAULT_HINTS[info.kind])]
  const details = { ...ctx.details, network: { kind: info.kind, ...(info.code ? { code: info.code } : {}) } }
  if (info.kind === 'tls') {
    return new GutsError('GUTS_AUTH_FAILED', `TLS verification failed for ${ctx.what} at ${origin}: ${detail}`, {
      cause: err,
      suggestions,
      details,
    })
  }
  const retryable = info.kind === 'reset' || info.kind === 'timeout' || info.code === 'EAI_AGAIN' || info.kind === 'unknown'
  const verb = info.kind === 'timeout' || info.kind === 'reset' || info.kind === 'unknown' ? 'did not answer' : 'cannot be reached'
  const message =
    info.kind === 'refused' || info.kind === 'dns' || info.kind === 'unreachable'
      ? `Cannot reach ${ctx.what} at ${origin}: ${detail}`
      : `${ctx.what} at ${origin} ${verb}: ${detail}`
  return new GutsError('GUTS_UNREACHABLE', message, { cause: err, retryable, suggestions, details })
}

function originOf(endpoint: string | URL): string {
  try {
    const origin = new URL(endpoint).origin
    // `host:22` parses as a URL with scheme `host:` and an opaque origin.
    if (origin !== 'null') return origin
  } catch {
    // Not a URL at all: shown as below.
  }
  // host:port (SSH and other non-HTTP clients): shown without anything after a slash.
  return String(endpoint).split('/')[0] || '(invalid URL)'
}
