import { GutsError } from '@guts/sdk'
import type { VmwareOptions } from '../options.js'
import type { TlsSettings } from './tls.js'

export type { VmwareOptions }

export interface VimConfig {
  /** `https://host[:port]/sdk`, without credentials. */
  endpoint: URL
  username: string
  password: string
  tls: TlsSettings
  datacenter?: string
}

/**
 * Plan options first, then govc's variables, so that a shell already set up for govc works as
 * is: GOVC_URL (`host`, `host:port`, or `https://user:pass@host/sdk`), GOVC_USERNAME and
 * GOVC_PASSWORD (they win over credentials inside GOVC_URL, as in govc), GOVC_INSECURE,
 * GOVC_THUMBPRINT, GOVC_TLS_CA_CERTS and GOVC_DATACENTER.
 */
export function resolveConfig(options: VmwareOptions, env: NodeJS.ProcessEnv = process.env): VimConfig {
  const raw = options.url ?? env.GOVC_URL
  if (!raw) {
    throw new GutsError('GUTS_CONFIG_INVALID', 'No vSphere URL: set the source option url (https://vcenter.example.com/sdk) or GOVC_URL.')
  }
  const endpoint = parseUrl(raw)
  const fromUrl = { user: decodeURIComponent(endpoint.username), pass: decodeURIComponent(endpoint.password) }
  endpoint.username = ''
  endpoint.password = ''
  const username = options.username ?? env.GOVC_USERNAME ?? (fromUrl.user || undefined)
  const password = options.password ?? env.GOVC_PASSWORD ?? (fromUrl.pass || undefined)
  if (!username || password === undefined) {
    throw new GutsError(
      'GUTS_CONFIG_INVALID',
      `No vSphere ${username ? 'password' : 'username'} for ${endpoint.host}: set the source options username/password, GOVC_USERNAME/GOVC_PASSWORD, or put them in GOVC_URL.`,
    )
  }
  const thumbprint = options.thumbprint ?? (env.GOVC_THUMBPRINT || undefined)
  const caCert = options.caCert ?? (env.GOVC_TLS_CA_CERTS || undefined)
  const insecure = options.insecure ?? truthy(env.GOVC_INSECURE)
  const datacenter = options.datacenter ?? (env.GOVC_DATACENTER || undefined)
  return {
    endpoint,
    username,
    password,
    tls: { ...(thumbprint ? { thumbprint } : {}), ...(caCert ? { caCert } : {}), ...(insecure ? { insecure } : {}) },
    ...(datacenter ? { datacenter } : {}),
  }
}

/** govc accepts a bare host; the SOAP endpoint is always /sdk unless a path is given. */
export function parseUrl(raw: string): URL {
  let url: URL
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`)
  } catch {
    throw new GutsError('GUTS_CONFIG_INVALID', `The vSphere URL "${redactUrl(raw)}" is not a URL.`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GutsError('GUTS_CONFIG_INVALID', `The vSphere URL must be https:// (got ${url.protocol}).`)
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/sdk'
  url.search = ''
  url.hash = ''
  return url
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim())
}

/** For messages: never echo a password that came inside a URL. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@')
}
