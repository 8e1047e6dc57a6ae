import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { GutsError } from '@guts/sdk'
import { wildcardRegExp } from '../glob.js'

/** What the driver trusts: a pinned fingerprint or key, and/or the entries of known_hosts files. */
export interface HostKeyPolicy {
  /** `SHA256:…` (as ssh-keygen -l prints it) or a public key line `ssh-ed25519 AAAA…`. */
  pinned?: string
  /** known_hosts files, read when the connection is made. */
  knownHostsFiles: readonly string[]
}

/** OpenSSH's fingerprint of a raw public key blob: `SHA256:` + unpadded base64 of its sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/** The key type named inside an SSH public key blob (a length-prefixed string first). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown'
  const n = key.readUInt32BE(0)
  return n > 0 && n < 64 && key.length >= 4 + n ? key.subarray(4, 4 + n).toString('latin1') : 'unknown'
}

/**
 * Whether `key` (the blob the server presented) is the one the policy trusts for `host:port`.
 * Returns `trusted`, `mismatch` (a key is known for the host and it is another one: a changed
 * key or someone in between) or `unknown` (nothing known for the host).
 */
export function checkHostKey(policy: HostKeyPolicy, host: string, port: number, key: Buffer): 'trusted' | 'mismatch' | 'unknown' {
  if (policy.pinned) return pinnedMatches(policy.pinned, key) ? 'trusted' : 'mismatch'
  const entries = policy.knownHostsFiles.flatMap((file) => knownHostsEntries(file)).filter((e) => hostMatches(e.hosts, host, port))
  // A revoked key is refused wherever it is listed, before any line that trusts it (as OpenSSH does).
  if (entries.some((e) => e.revoked && e.key.equals(key))) return 'mismatch'
  const known = entries.filter((e) => !e.revoked && e.type === keyType(key))
  if (known.some((e) => e.key.equals(key))) return 'trusted'
  return known.length ? 'mismatch' : 'unknown'
}

/** The error for a key the policy does not trust; it names the fingerprint to check and pin. */
export function hostKeyError(verdict: 'mismatch' | 'unknown', host: string, port: number, key: Buffer): GutsError {
  const fp = fingerprint(key)
  const where = port === 22 ? host : `${host}:${port}`
  if (verdict === 'mismatch') {
    return new GutsError(
      'GUTS_AUTH_FAILED',
      `The SSH host key of ${where} (${keyType(key)} ${fp}) is not the one this source trusts: the host was reinstalled or someone is in between. Nothing was sent.`,
      {
        suggestions: [
          'On the Hyper-V host, print its key fingerprint: ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub',
          'If the host really changed, update the source option hostKey or your known_hosts entry.',
        ],
        details: { hyperv: { hostKey: fp } },
      },
    )
  }
  return new GutsError('GUTS_AUTH_FAILED', `The SSH host key of ${where} is not known (${keyType(key)} ${fp}). Nothing was sent.`, {
    suggestions: [
      'Check the fingerprint on the Hyper-V host: ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub',
      `Then pin it with the source option hostKey: ${fp} (or add the host to a knownHosts file).`,
    ],
    details: { hyperv: { hostKey: fp } },
  })
}

function pinnedMatches(pinned: string, key: Buffer): boolean {
  const p = pinned.trim()
  if (/^SHA256:/i.test(p)) return p.slice(7).replace(/=+$/, '') === fingerprint(key).slice(7)
  const parts = p.split(/\s+/)
  const blob = parts.length >= 2 ? parts[1]! : parts[0]!
  return Buffer.from(blob, 'base64').equals(key)
}

interface KnownHostsEntry {
  hosts: string
  type: string
  key: Buffer
  revoked: boolean
}

/** The entries of a known_hosts file (a missing file has none); `@cert-authority` lines are skipped. */
function knownHostsEntries(file: string): KnownHostsEntry[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new GutsError('GUTS_CONFIG_INVALID', `Cannot read the known_hosts file ${file}: ${(e as Error).message}`, { cause: e })
  }
  const out: KnownHostsEntry[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const f = line.split(/\s+/)
    const marker = f[0]!.startsWith('@') ? f.shift()! : ''
    if (marker === '@cert-authority' || f.length < 3) continue
    out.push({ hosts: f[0]!, type: f[1]!, key: Buffer.from(f[2]!, 'base64'), revoked: marker === '@revoked' })
  }
  return out
}

/** known_hosts host patterns: `host`, `[host]:port`, lists, `*`/`?` wildcards, `!negation`, `|1|salt|hash`. */
function hostMatches(patterns: string, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|')
    if (!salt || !hash) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
  }
  let hit = false
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!')
    const p = negated ? pattern.slice(1) : pattern
    if (wildcardRegExp(p).test(name)) {
      if (negated) return false
      hit = true
    }
  }
  return hit
}
