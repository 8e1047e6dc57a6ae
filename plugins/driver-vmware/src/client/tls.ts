import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { connect as tlsConnect, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls'
import { GutsError } from '@guts/sdk'
import { Agent, buildConnector } from 'undici'

/**
 * TLS for one vSphere endpoint. Verified against the system CAs by default; a CA bundle
 * (`caCert`) or a pinned SHA-1 thumbprint (as govc's GOVC_THUMBPRINT and the thumbprints vCenter
 * puts in NFC lease URLs) for self-signed ESXi/vCenter certificates; `insecure` only when asked.
 * Settings live on this client's connection pool, never in NODE_TLS_REJECT_UNAUTHORIZED, which
 * would turn verification off for every connection in the process.
 */
export interface TlsSettings {
  caCert?: string
  thumbprint?: string
  insecure?: boolean
}

/** `2C:11:ed:…` or `2c11ed…` → `2C:11:ED:…`, the form vSphere and govc print. */
export function normalizeThumbprint(tp: string): string {
  const hex = tp.replace(/[^0-9a-fA-F]/g, '').toUpperCase()
  if (hex.length !== 40) {
    throw new GutsError('GUTS_CONFIG_INVALID', `The thumbprint "${tp}" is not a SHA-1 fingerprint (40 hex digits, e.g. 2C:11:ED:…).`, {
      suggestions: ['Get it with: openssl s_client -connect HOST:443 </dev/null | openssl x509 -noout -fingerprint -sha1'],
    })
  }
  return hex.match(/../g)!.join(':')
}

/** SHA-1 of a DER certificate, in vSphere's form. */
export function sha1Thumbprint(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

/**
 * The check for a pinned certificate. A pin replaces chain and host name checks (the reason to
 * pin is a self-signed certificate, often issued for another name), so it must be exact.
 */
export function pinCheck(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  const want = normalizeThumbprint(expected)
  return (_host, cert) => {
    const got = cert?.raw ? sha1Thumbprint(cert.raw) : cert?.fingerprint
    if (got && got.toUpperCase() === want) return undefined
    return new Error(`certificate thumbprint ${got ?? 'unknown'} does not match the pinned ${want}`)
  }
}

/**
 * Chain verification settings (no pin): the CA bundle, or insecure. Also the shape of Bun's fetch
 * `tls` option, which Bun's undici shim needs because it ignores an Agent's connect options.
 */
export function tlsConnectOptions(tls: TlsSettings): { ca?: string; rejectUnauthorized?: boolean } {
  if (tls.thumbprint) return { rejectUnauthorized: false }
  const ca = readCa(tls.caCert)
  return { ...(ca ? { ca } : {}), ...(tls.insecure ? { rejectUnauthorized: false } : {}) }
}

/**
 * With a pin, chain verification is off (the reason to pin is a self-signed certificate) and the
 * peer certificate's SHA-1 is compared after every handshake instead. Node does not call
 * `checkServerIdentity` when the chain already failed, so the pin is checked on the connected
 * socket; TLS session reuse is off so that every connection shows its certificate.
 */
function pinnedConnector(thumbprint: string): buildConnector.connector {
  const check = pinCheck(thumbprint)
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 })
  return (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('TLS connect failed'), null)
      const cert = (socket as TLSSocket).getPeerCertificate?.(false)
      const mismatch = check(opts.hostname, cert as PeerCertificate)
      if (mismatch) {
        socket.destroy()
        return callback(new GutsError('GUTS_AUTH_FAILED', `TLS pin failed for ${opts.hostname}: ${mismatch.message}`, {
          suggestions: ['Check the thumbprint option / GOVC_THUMBPRINT: the server presents another certificate.'],
          details: { vmware: { fault: 'ThumbprintMismatch' } },
        }), null)
      }
      callback(null, socket)
    })
}

export function createAgent(tls: TlsSettings): Agent {
  const connect = tls.thumbprint ? pinnedConnector(tls.thumbprint) : tlsConnectOptions(tls)
  return new Agent({ connect, keepAliveTimeout: 30_000, connections: 8 })
}

/**
 * Bun's fetch (Bun's undici shim ignores Agents) takes a `tls` option, but calls
 * `checkServerIdentity` only once the chain verified, so a pin cannot simply switch verification
 * off as on Node. Instead the certificate chain is fetched once, its leaf checked against the pin,
 * and that chain becomes the only trusted CA; every later connection must chain to it and, in
 * `checkServerIdentity`, match the pin again (which also stands in for the host name check).
 * Limit: an expired pinned certificate fails under Bun, where Node accepts it.
 */
export async function bunFetchTls(endpoint: URL, tls: TlsSettings): Promise<{ tls?: object }> {
  if (!tls.thumbprint) {
    const opts = tlsConnectOptions(tls)
    return Object.keys(opts).length ? { tls: opts } : {}
  }
  const check = pinCheck(tls.thumbprint)
  const chain = await peerChain(endpoint)
  const leaf = chain[0]
  const mismatch = leaf ? check(endpoint.hostname, leaf) : new Error('no certificate')
  if (mismatch) throw new GutsError('GUTS_AUTH_FAILED', `TLS pin failed for ${endpoint.hostname}: ${mismatch.message}`, { details: { vmware: { fault: 'ThumbprintMismatch' } } })
  const ca = chain.map((c) => new X509Certificate(c.raw).toString())
  return { tls: { ca, checkServerIdentity: check } }
}

/** The certificates the server presents, leaf first (one unverified handshake, nothing sent). */
function peerChain(endpoint: URL): Promise<DetailedPeerCertificate[]> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: endpoint.hostname, port: Number(endpoint.port || 443), ...(isIP(endpoint.hostname) ? {} : { servername: endpoint.hostname }), rejectUnauthorized: false }, () => {
      const out: DetailedPeerCertificate[] = []
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
      while (cert?.raw && !out.some((c) => c.raw.equals(cert!.raw))) {
        out.push(cert)
        cert = cert.issuerCertificate
      }
      socket.destroy()
      resolve(out)
    })
    socket.once('error', (error) => reject(new GutsError('GUTS_UNREACHABLE', `Cannot reach vSphere at ${endpoint.host}: ${error.message}`, { cause: error, retryable: true })))
  })
}

/** Closes the pool; Bun's undici shim has no close. */
export async function closeAgent(agent: Agent): Promise<void> {
  const close = (agent as { close?: () => Promise<void> }).close
  if (typeof close === 'function') await close.call(agent)
}

function readCa(path: string | undefined): string | undefined {
  if (!path) return undefined
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (error) {
    throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the CA bundle ${path}: ${(error as Error).message}`, { cause: error })
  }
  try {
    new X509Certificate(pem)
  } catch (error) {
    throw new GutsError('GUTS_CONFIG_INVALID', `${path} holds no PEM certificate: ${(error as Error).message}`, { cause: error })
  }
  return pem
}
