import type { SqliteDatabase } from './sqlite-driver.js'
import type { NewToken, TokenRecord } from './store.js'
import { toToken, tokenConflict, tokenNotFound, type TokenRow } from './token-rows.js'

/**
 * The API-token half of SqliteStateStore (its methods delegate here). Each function is one or two
 * statements and needs no transaction: tokens are never deleted and each write touches one row.
 */
export function insertToken(db: SqliteDatabase, t: NewToken, createdAt: string): TokenRecord {
  // DO NOTHING on either unique column (id, secret_hash): a clash is reported, not a constraint error.
  const { changes } = db
    .prepare('INSERT INTO tokens (id, name, role, secret_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
    .run(t.id, t.name, t.role, t.secretHash, t.prefix, createdAt)
  if (changes === 0) throw tokenConflict(t.id)
  return { ...t, createdAt }
}

export function selectTokens(db: SqliteDatabase): TokenRecord[] {
  // rowid breaks ties between tokens created in the same millisecond.
  return db.prepare('SELECT * FROM tokens ORDER BY created_at DESC, rowid DESC').all<TokenRow>().map(toToken)
}

export function selectTokenByHash(db: SqliteDatabase, secretHash: string): TokenRecord | undefined {
  const row = db.prepare('SELECT * FROM tokens WHERE secret_hash = ?').get<TokenRow>(secretHash)
  return row && toToken(row)
}

export function revokeTokenRow(db: SqliteDatabase, id: string, at: string): TokenRecord {
  // COALESCE keeps the first revocation time: revoking twice is not a new event.
  db.prepare('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id)
  const row = db.prepare('SELECT * FROM tokens WHERE id = ?').get<TokenRow>(id)
  if (!row) throw tokenNotFound(id)
  return toToken(row)
}

export function touchTokenRow(db: SqliteDatabase, id: string, at: string): void {
  db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?').run(at, id)
}
