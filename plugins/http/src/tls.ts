import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { PeerCertificate } from 'node:tls'
import { GutsError } from '@guts/sdk'

/**
 * How a client trusts one server. Verified against the system CAs by default; a CA bundle
 * (`caCert`) or a pinned SHA-256 or SHA-1 thumbprint (govc's GOVC_THUMBPRINT, the thumbprints
 * vCenter puts in NFC lease URLs) for self-signed certificates; `insecure` only when asked.
 * Settings live on the client's connection pool, never in NODE_TLS_REJECT_UNAUTHORIZED, which
 * would turn verification off for every connection in the process.
 */
export interface TlsSettings {
  /** Path of a PEM CA bundle. */
  caCert?: string
  thumbprint?: string
  insecure?: boolean
}

const ALGORITHM_BY_LENGTH: Record<number, 'sha1' | 'sha256'> = { 40: 'sha1', 64: 'sha256' }

/** `2C:11:ed:…` or `2c11ed…` → `2C:11:ED:…`, the form vSphere, govc and openssl print. */
export function normalizeThumbprint(tp: string): string {
  const hex = tp.replace(/[^0-9a-fA-F]/g, '').toUpperCase()
  if (!ALGORITHM_BY_LENGTH[hex.length]) {
    throw new GutsError(
      'GUTS_CONFIG_INVALID',
      `The thumbprint "${tp}" is neither a SHA-1 (40 hex digits, e.g. 2C:11:ED:…) nor a SHA-256 (64 hex digits) fingerprint.`,
      {
        suggestions: ['Get it with: openssl s_client -connect HOST:443 </dev/null | openssl x509 -noout -fingerprint -sha256'],
      },
    )
  }
  return hex.match(/../g)!.join(':')
}

/** The fingerprint of a DER certificate in the `AB:CD:…` form. */
export function thumbprintOf(der: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

/** SHA-1 of a DER certificate, in vSphere's form. */
export function sha1Thumbprint(der: Buffer): string {
  return thumbprintOf(der, 'sha1')
}

/**
 * The check for a pinned certificate, with the hash the pin's length names. A pin replaces chain
 * and host name checks (the reason to pin is a self-signed certificate, often issued for another
 * name), so it must be exact. Its shape is that of `checkServerIdentity`.
 */
export function pinCheck(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  const want = normalizeThumbprint(expected)
  const algorithm = ALGORITHM_BY_LENGTH[want.replace(/:/g, '').length]!
  return (_host, cert) => {
    const got = cert?.raw ? thumbprintOf(cert.raw, algorithm) : algorithm === 'sha1' ? cert?.fingerprint : cert?.fingerprint256
    if (got && got.toUpperCase() === want) return undefined
    return new Error(`certificate thumbprint ${got ?? 'unknown'} does not match the pinned ${want}`)
  }
}

/** The error of a failed pin, the same from the Node connector and the Bun pre-check. */
export function pinError(host: string, mismatch: Error): GutsError {
  return new GutsError('GUTS_AUTH_FAILED', `TLS pin failed for ${host}: ${mismatch.message}`, {
    suggestions: ['Check the thumbprint option (GOVC_THUMBPRINT for vSphere): the server presents another certificate.'],
    details: { network: { kind: 'tls', code: 'ThumbprintMismatch' } },
  })
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

/** The PEM bundle at `path`, checked to hold a certificate, so a wrong path fails before any connection. */
export function readCa(path: string | undefined): string | undefined {
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
