import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { GutsError } from '@guts/sdk'
import { short } from '../short-id.js'
import { TOKEN_ROLES, type StateStore, type TokenRecord, type TokenRole } from '../state/store.js'

/** A token as lists and the API show it: never its secret, nor the secret's hash. */
export type TokenView = Omit<TokenRecord, 'secretHash'>

/** Who a verified secret belongs to (what `guts serve` checks roles against). */
export interface TokenCaller {
  id: string
  name: string
  role: TokenRole
}

export interface NewTokenInput {
  name: string
  role: string
}

/** `guts_` + base64url of 32 random bytes (43 characters): anything else is not one of ours. */
const SECRET_SHAPE = /^guts_[A-Za-z0-9_-]{43}$/
const SECRET_TAG = 'guts_'
/** Characters of the secret (after `guts_`) kept in the clear, so `token list` can tell tokens apart. */
const PREFIX_LENGTH = 8
const NAME_MAX = 100
/** last_used_at is a hint for audits, not a log: one write a minute per token keeps verify a read. */
const TOUCH_EVERY_MS = 60_000

const sha256 = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest()

/**
 * The API tokens of `guts serve` (the token half of the service, see `../service.ts`). A secret is
 * made here, returned once by createToken and never kept: the store holds its sha256, so neither
 * a copy of the database nor anything guts logs or prints later can be used as a token.
 * `clock` is for tests of the once-a-minute last-used update.
 */
export function createTokens(db: () => Promise<StateStore>, clock: () => number = Date.now) {
  /** When this process last wrote each token's last_used_at: concurrent requests write once. */
  const touched = new Map<string, number>()

  async function createToken(input: NewTokenInput): Promise<{ token: TokenView; secret: string }> {
    const name = checkName(input.name)
    const role = checkRole(input.role)
    const secret = SECRET_TAG + randomBytes(32).toString('base64url')
    const record = await (
      await db()
    ).createToken({
      id: randomUUID(),
      name,
      role,
      secretHash: sha256(secret).toString('hex'),
      prefix: secret.slice(SECRET_TAG.length, SECRET_TAG.length + PREFIX_LENGTH),
    })
    return { token: view(record), secret }
  }

  async function listTokens(): Promise<TokenView[]> {
    return (await (await db()).listTokens()).map(view)
  }

  /** Revokes by id or a unique id prefix (4+ characters); revoking a revoked token changes nothing. */
  async function revokeToken(idOrPrefix: string): Promise<TokenView> {
    const store = await db()
    const all = await store.listTokens()
    const exact = all.find((t) => t.id === idOrPrefix)
    const matches = exact ? [exact] : idOrPrefix.length >= 4 ? all.filter((t) => t.id.startsWith(idOrPrefix)) : []
    if (matches.length !== 1) {
      throw new GutsError(
        matches.length ? 'GUTS_CONFLICT' : 'GUTS_NOT_FOUND',
        matches.length
          ? `"${idOrPrefix}" matches ${matches.length} API tokens (${matches.map((t) => short(t.id)).join(', ')}); give more of the id.`
          : `No API token with id "${idOrPrefix}".`,
        { suggestions: ['Run `guts token list` to see tokens and their ids.'] },
      )
    }
    return view(await store.revokeToken(matches[0]!.id))
  }

  /** Who the secret belongs to; undefined for a malformed, unknown or revoked one (never throws for bad input). */
  async function verifyToken(secret: string): Promise<TokenCaller | undefined> {
    if (typeof secret !== 'string' || !SECRET_SHAPE.test(secret)) return undefined
    const digest = sha256(secret)
    const store = await db()
    const record = await store.getTokenByHash(digest.toString('hex'))
    if (!record || record.revokedAt !== undefined) return undefined
    // The lookup compared hashes in the database; compare again here in constant time, so a store
    // that matched loosely (collation, case) can never let a different secret through.
    const stored = Buffer.from(record.secretHash, 'hex')
    if (stored.length !== digest.length || !timingSafeEqual(stored, digest)) return undefined
    // A role this guts does not know (a newer guts, a hand edit) grants nothing rather than guessing.
    if (!TOKEN_ROLES.includes(record.role)) return undefined
    await touch(store, record)
    return { id: record.id, name: record.name, role: record.role }
  }

  async function touch(store: StateStore, record: TokenRecord): Promise<void> {
    const t = clock()
    const last = Math.max(touched.get(record.id) ?? 0, record.lastUsedAt ? Date.parse(record.lastUsedAt) : 0)
    if (t - last < TOUCH_EVERY_MS) return
    touched.set(record.id, t)
    // Informational only: a busy or read-only database must not turn a valid token away.
    await store.touchToken(record.id, new Date(t).toISOString()).catch(() => undefined)
  }

  return { createToken, listTokens, revokeToken, verifyToken }
}

export type Tokens = ReturnType<typeof createTokens>

function view(record: TokenRecord): TokenView {
  const { secretHash: _hash, ...rest } = record
  return rest
}

function checkName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : ''
  // Control characters would let a name forge lines in tables and logs.
  // eslint-disable-next-line no-control-regex
  if (!trimmed || trimmed.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new GutsError(
      'GUTS_USAGE',
      `A token needs a name of 1 to ${NAME_MAX} characters without control characters, e.g. "ci-pipeline".`,
      {
        suggestions: ['Name it after who or what will use it, so `guts token list` tells you which to revoke.'],
      },
    )
  }
  return trimmed
}

function checkRole(role: unknown): TokenRole {
  if (TOKEN_ROLES.includes(role as TokenRole)) return role as TokenRole
  throw new GutsError(
    'GUTS_USAGE',
    `${typeof role === 'string' && role ? `Unknown token role "${role}"` : 'A token needs a role'}: use viewer, operator or admin.`,
    { suggestions: ['viewer reads; operator also starts, cancels, cuts over and cleans up migrations; admin may do everything.'] },
  )
}
