/**
 * TLS for vSphere endpoints is @guts/http's: verified against the system CAs by default, a CA
 * bundle (`caCert`, GOVC_TLS_CA_CERTS), a pinned SHA-1 thumbprint as govc's GOVC_THUMBPRINT and
 * the NFC lease URLs carry it (or a SHA-256 one), and `insecure` only when asked, under Node and
 * Bun alike. See @guts/http's bun-tls.ts for what a pin can and cannot do under Bun.
 */
export { normalizeThumbprint, pinCheck, sha1Thumbprint, type TlsSettings } from '@guts/http'
