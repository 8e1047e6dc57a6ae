import { GutsError } from '@guts/sdk'
import type { TokenRecord, TokenRole } from './store.js'

/**
 * The `tokens` table's row as both stores read it (the same TEXT columns in SQLite and PostgreSQL;
 * PostgreSQL's extra `ord` is ignored) and the errors both raise, so tokens read the same from either.
 */
export interface TokenRow {
  id: string
  name: string
  role: string
  secret_hash: string
  prefix: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role as TokenRole,
    secretHash: r.secret_hash,
    prefix: r.prefix,
    createdAt: r.created_at,
    ...(r.last_used_at !== null ? { lastUsedAt: r.last_used_at } : {}),
    ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}),
  }
}

export function tokenNotFound(id: string): GutsError {
  return new GutsError('GUTS_NOT_FOUND', `No API token with id ${id}.`, {
    ref: id,
    suggestions: ['List tokens with `guts token list`.'],
  })
}

/** Only a reused id or secret gets here; both are random, so this is a bug or a replayed insert. */
export function tokenConflict(id: string): GutsError {
  return new GutsError('GUTS_CONFLICT', `An API token with id ${id} (or with the same secret) already exists.`, { ref: id })
}
