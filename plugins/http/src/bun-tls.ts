import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls'
import { networkError } from '@guts/sdk'
import { pinCheck, pinError, tlsConnectOptions, type TlsSettings } from './tls.js'

/** The `tls` option of Bun's fetch, as far as guts uses it. */
export interface BunFetchTls {
  tls?: { ca?: string | string[]; rejectUnauthorized?: boolean; checkServerIdentity?: (host: string, cert: never) => Error | undefined }
}

/**
 * The trust settings in the shape Bun's fetch takes (`tls`): under Bun (tests, the single binary)
 * `undici` is Bun's own shim and ignores an Agent's connect options. Node ignores this key.
 *
 * Bun calls `checkServerIdentity` only once the chain verified, so a pin cannot simply switch
 * verification off as on Node. Instead the certificate chain is fetched once, its leaf checked
 * against the pin, and that chain becomes the only trusted CA; every later connection must chain
 * to it and, in `checkServerIdentity`, match the pin again (which also stands in for the host name
 * check). Limits: an expired pinned certificate fails under Bun, where Node accepts it; and the
 * settings are per origin, because the pinned chain is that host's.
 */
export async function bunFetchTls(endpoint: URL, tls: TlsSettings, what = endpoint.hostname): Promise<BunFetchTls> {
  if (!tls.thumbprint) {
    const opts = tlsConnectOptions(tls)
    return Object.keys(opts).length ? { tls: opts } : {}
  }
  const check = pinCheck(tls.thumbprint)
  const chain = await peerChain(endpoint, what)
  const leaf = chain[0]
  const mismatch = leaf ? check(endpoint.hostname, leaf) : new Error('no certificate')
  if (mismatch) throw pinError(endpoint.hostname, mismatch)
  const ca = chain.map((c) => new X509Certificate(c.raw).toString())
  return { tls: { ca, checkServerIdentity: check as never } }
}

/** The certificates the server presents, leaf first (one unverified handshake, nothing sent). */
function peerChain(endpoint: URL, what: string): Promise<DetailedPeerCertificate[]> {
  const port = Number(endpoint.port || 443)
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: endpoint.hostname, port, ...(isIP(endpoint.hostname) ? {} : { servername: endpoint.hostname }), rejectUnauthorized: false },
      () => {
        const out: DetailedPeerCertificate[] = []
        let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
        while (cert?.raw && !out.some((c) => c.raw.equals(cert!.raw))) {
          out.push(cert)
          cert = cert.issuerCertificate
        }
        socket.destroy()
        resolve(out)
      },
    )
    socket.once('error', (error) => reject(networkError(error, { what, endpoint })))
  })
}
