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
  cached = {
    certPath,
    keyPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    sha1: '13:44:93:56:80:28:5D:3E:DF:B9:E4:8F:24:44:07:D8:00:E3:0F:21',
    sha256: 'A3:A2:18:83:1F:F4:0B:A6:8A:29:73:89:AC:62:68:AE:12:F8:69:A7:90:16:58:03:20:4C:FD:5E:C1:F2:6F:2C',
  }
  return cached
}
