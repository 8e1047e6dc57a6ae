import { createHash } from 'node:crypto'
import { expect, it } from 'vitest'
import type { NewToken, StateStore } from '../../src/core/state/store.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const token = (id: string, extra: Partial<NewToken> = {}): NewToken => ({
  id,
  name: `name-${id}`,
  role: 'viewer',
  secretHash: sha(id),
  prefix: id.slice(0, 8).padEnd(8, 'x'),
  ...extra,
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The API-token methods every StateStore must have; part of `stateStoreSuite` (called inside its
 * describe, so each test gets the suite's fresh store).
 */
export function tokenStoreTests(store: () => StateStore): void {
  it('tokens: create, read back by hash, list newest first', async () => {
    const a = await store().createToken(token('t-a', { role: 'admin' }))
    expect(a).toEqual({ ...token('t-a', { role: 'admin' }), createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) })
    expect(a.lastUsedAt).toBeUndefined()
    expect(a.revokedAt).toBeUndefined()
    const b = await store().createToken(token('t-b', { role: 'operator' }))
    expect(await store().getTokenByHash(sha('t-a'))).toEqual(a)
    expect(await store().getTokenByHash(sha('nope'))).toBeUndefined()
    expect(await store().listTokens()).toEqual([b, a])
  })

  it('tokens: a reused id or secret hash is GUTS_CONFLICT', async () => {
    await store().createToken(token('t-a'))
    await expect(store().createToken(token('t-a', { secretHash: sha('other') }))).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
    await expect(store().createToken(token('t-b', { secretHash: sha('t-a') }))).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
    expect((await store().listTokens()).map((t) => t.id)).toEqual(['t-a'])
  })

  it('tokens: revoke is idempotent and keeps the first time; revoked tokens are still listed and found', async () => {
    await store().createToken(token('t-a'))
    await store().createToken(token('t-b'))
    const first = await store().revokeToken('t-a')
    expect(first.revokedAt).toMatch(/Z$/)
    await sleep(5)
    expect(await store().revokeToken('t-a')).toEqual(first)
    expect(await store().getTokenByHash(sha('t-a'))).toEqual(first)
    expect((await store().listTokens()).map((t) => [t.id, t.revokedAt !== undefined])).toEqual([
      ['t-b', false],
      ['t-a', true],
    ])
    await expect(store().revokeToken('nope')).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
  })

  it('tokens: touch sets last used, leaves everything else alone, ignores an unknown id', async () => {
    const a = await store().createToken(token('t-a'))
    await store().touchToken('t-a', '2030-01-01T00:00:00.000Z')
    await store().touchToken('t-a', '2030-01-01T00:01:00.000Z')
    await store().touchToken('nope', '2030-01-01T00:00:00.000Z')
    expect(await store().getTokenByHash(sha('t-a'))).toEqual({ ...a, lastUsedAt: '2030-01-01T00:01:00.000Z' })
  })
}
