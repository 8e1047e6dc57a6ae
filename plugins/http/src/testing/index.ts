import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The one self-signed certificate guts' TLS tests use (CN and IP SAN 127.0.0.1, valid to 2036),
 * committed once under `fixtures/` so that every test pins, trusts or refuses the same server.
 */
export interface TestCertificate {
  certPath: string
  keyPath: string
  /** PEM texts, for `https.createServer({cert, key})`. */
  cert: string
  key: string
  /** Its fingerprints in the `AB:CD:…` form. */
  sha1: string
  sha256: string
}

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url))

let cached: TestCertificate | undefined

export function testCertificate(): TestCertificate {
  if (cached) return cached
  const certPath = fixture('test-cert.pem')
  const keyPath = fixture('test-key.pem')
  const cert = readFileSync(certPath, 'utf8')
  const x509 = new X509Certificate(cert)
  cached = { certPath, keyPath, cert, key: readFileSync(keyPath, 'utf8'), sha1: x509.fingerprint, sha256: x509.fingerprint256 }
  return cached
}
