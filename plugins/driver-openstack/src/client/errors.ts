import { GutsError, networkError as sdkNetworkError, type GutsErrorCode } from '@guts/sdk'

/** What we know about a failed OpenStack API call; everything here is safe to show. */
export interface ApiFailure {
  service: string
  method: string
  /** The URL without query string: queries may carry names, never credentials, but stay short. */
  url: string
  status: number
  /** The response body as text (JSON or HTML, depending on the service). */
  body: string
  requestId?: string
}

/**
 * The human message inside an OpenStack error body. Every service wraps it differently:
 * Keystone `{"error": {"message"}}`, Nova/Cinder `{"itemNotFound": {"message"}}` (any key),
 * Neutron `{"NeutronError": {"message"}}`, Glance plain text or HTML with a title.
 */
export function serviceMessage(body: string): string {
  const text = body.trim()
  if (!text) return ''
  try {
    const parsed = JSON.parse(text) as unknown
    const found = findMessage(parsed, 0)
    if (found) return found
  } catch {
    // Not JSON: Glance and proxies answer with text or HTML.
  }
  const stripped = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return stripped.length > 400 ? `${stripped.slice(0, 400)}…` : stripped
}

function findMessage(value: unknown, depth: number): string | undefined {
  if (depth > 3 || typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  for (const key of ['message', 'faultstring', 'detail', 'title']) {
    if (typeof record[key] === 'string' && record[key]) return record[key] as string
  }
  for (const inner of Object.values(record)) {
    const found = findMessage(inner, depth + 1)
    if (found) return found
  }
  return undefined
}

const QUOTA = /quota|exceed|over ?limit|limit exceeded/i

/** The GutsError code for an HTTP status (and, for 400/403/409, the words in the message). */
export function codeForStatus(status: number, message: string): GutsErrorCode {
  if (status === 401) return 'GUTS_AUTH_FAILED'
  if (status === 404) return 'GUTS_NOT_FOUND'
  if (status === 413) return 'GUTS_QUOTA_EXCEEDED'
  // Nova and Neutron answer quota problems with 403 or 409, Cinder with 413, each with a message.
  if ((status === 403 || status === 409 || status === 400) && QUOTA.test(message)) return 'GUTS_QUOTA_EXCEEDED'
  if (status === 403) return 'GUTS_AUTH_FAILED'
  if (status === 409) return 'GUTS_CONFLICT'
  if (status === 408 || status === 504) return 'GUTS_TIMEOUT'
  if (status >= 500 || status === 429) return 'GUTS_UNREACHABLE'
  return 'GUTS_DRIVER_ERROR'
}

/** Removes every secret (passwords, tokens, credential secrets) from a text before it is shown. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***')
  }
  return out
}

/** Turns a failed call into a GutsError with the service's own message and the request id. */
export function apiError(f: ApiFailure, secrets: readonly (string | undefined)[] = []): GutsError {
  const message = redact(serviceMessage(f.body), secrets)
  const code = codeForStatus(f.status, message)
  const where = `${f.service} ${f.method} ${f.url.split('?')[0]}`
  const rid = f.requestId ? ` (request ${f.requestId})` : ''
  const suggestions: string[] = []
  if (code === 'GUTS_AUTH_FAILED')
    suggestions.push('Check the credentials, project and domain in clouds.yaml or the driver options, and the role of the user.')
  if (code === 'GUTS_QUOTA_EXCEEDED') suggestions.push('Ask the cloud administrator to raise the project quota, or free resources.')
  return new GutsError(code, `OpenStack ${where} failed with HTTP ${f.status}${message ? `: ${message}` : ''}${rid}`, {
    retryable: f.status >= 500 || f.status === 429,
    suggestions,
    details: { openstack: { service: f.service, status: f.status, ...(f.requestId ? { requestId: f.requestId } : {}) } },
  })
}

/**
 * Network-level failures (no HTTP answer at all), classified by the SDK so that they mean the same
 * as in every other driver: a TLS verification failure is GUTS_AUTH_FAILED, the rest
 * GUTS_UNREACHABLE. Only the origin of the URL is shown.
 */
export function networkError(service: string, url: string, error: unknown, secrets: readonly (string | undefined)[] = []): GutsError {
  return sdkNetworkError(error, {
    what: `OpenStack ${service}`,
    endpoint: safeUrl(url),
    redact: (text) => redact(text, secrets),
    hints: {
      tls: [
        'Point caCert (or cacert in clouds.yaml, OS_CACERT) at the CA bundle that signed the endpoint, or set insecure: true for a lab.',
      ],
      refused: [REACH],
      dns: [REACH],
      unreachable: [REACH],
    },
  })
}

const REACH = 'Check auth_url / the service catalog and that the endpoint is reachable from this machine.'

function safeUrl(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}
