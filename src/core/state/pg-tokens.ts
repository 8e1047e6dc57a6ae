import type { Sql } from 'postgres'
import type { NewToken, TokenRecord } from './store.js'
import { toToken, tokenConflict, tokenNotFound, type TokenRow } from './token-rows.js'

/**
 * The API-token half of PgStateStore (its methods delegate here). One statement each: tokens are
 * never deleted and each write touches one row, so no row lock or transaction is needed.
 */
export async function insertToken(sql: Sql, t: NewToken, createdAt: string): Promise<TokenRecord> {
  // DO NOTHING on either unique column (id, secret_hash): a clash is reported, not a constraint error.
  const [row] = await sql<TokenRow[]>`
    INSERT INTO tokens (id, name, role, secret_hash, prefix, created_at)
    VALUES (${t.id}, ${t.name}, ${t.role}, ${t.secretHash}, ${t.prefix}, ${createdAt})
    ON CONFLICT DO NOTHING RETURNING *`
  if (!row) throw tokenConflict(t.id)
  return toToken(row)
}

export async function selectTokens(sql: Sql): Promise<TokenRecord[]> {
  return (await sql<TokenRow[]>`SELECT * FROM tokens ORDER BY created_at DESC, ord DESC`).map(toToken)
}

export async function selectTokenByHash(sql: Sql, secretHash: string): Promise<TokenRecord | undefined> {
  const [row] = await sql<TokenRow[]>`SELECT * FROM tokens WHERE secret_hash = ${secretHash}`
  return row && toToken(row)
}

export async function revokeTokenRow(sql: Sql, id: string, at: string): Promise<TokenRecord> {
  // COALESCE keeps the first revocation time: revoking twice is not a new event.
  const [row] = await sql<TokenRow[]>`UPDATE tokens SET revoked_at = COALESCE(revoked_at, ${at}) WHERE id = ${id} RETURNING *`
  if (!row) throw tokenNotFound(id)
  return toToken(row)
}

export async function touchTokenRow(sql: Sql, id: string, at: string): Promise<void> {
  await sql`UPDATE tokens SET last_used_at = ${at} WHERE id = ${id}`
}
