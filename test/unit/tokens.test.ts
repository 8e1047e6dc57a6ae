import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createMigrationService } from '../../src/core/service.js'
import { createTokens } from '../../src/core/service/tokens.js'
import { openSqliteDatabase, type SqliteDatabase } from '../../src/core/state/sqlite-driver.js'
import { SqliteStateStore } from '../../src/core/state/sqlite-store.js'
import type { StateStore, TokenRole } from '../../src/core/state/store.js'
import { errorOf } from '../helpers/error-of.js'
import { registryOf } from '../helpers/fake-registry.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const MINUTE = 60_000
const T0 = Date.parse('2030-01-01T00:00:00.000Z')

/** An in-memory store with its raw database at hand, to see what is really written. */
async function setup(clock?: () => number) {
  const raw = await openSqliteDatabase(':memory:')
  const store = new SqliteStateStore(raw)
  await store.init()
  opened.push(store)
  const touches: string[] = []
  const touch = store.touchToken.bind(store)
  store.touchToken = async (id, at) => {
    touches.push(at)
    return touch(id, at)
  }
  return { raw, store, touches, tokens: createTokens(async () => store, clock) }
}
const opened: StateStore[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})

const rows = (raw: SqliteDatabase) => raw.prepare('SELECT * FROM tokens').all<Record<string, string | null>>()

describe('API tokens (service)', () => {
  it('create → verify → revoke → verify gives undefined', async () => {
    const { tokens } = await setup()
    const { token, secret } = await tokens.createToken({ name: '  ci-pipeline ', role: 'operator' })
    expect(secret).toMatch(/^guts_[A-Za-z0-9_-]{43}$/)
    expect(token).toEqual({
      id: expect.any(String),
      name: 'ci-pipeline',
      role: 'operator',
      prefix: secret.slice(5, 13),
      createdAt: expect.any(String),
    })
    expect(await tokens.verifyToken(secret)).toEqual({ id: token.id, name: 'ci-pipeline', role: 'operator' })
    const revoked = await tokens.revokeToken(token.id)
    // Plain checks: bun's toMatchObject writes its asymmetric matchers into the object it inspects.
    expect(revoked.id).toBe(token.id)
    expect(revoked.revokedAt).toMatch(/Z$/)
    expect(await tokens.verifyToken(secret)).toBeUndefined()
    // Idempotent: the first revocation time stays.
    expect((await tokens.revokeToken(token.id.slice(0, 8))).revokedAt).toBe(revoked.revokedAt)
  })

  it('stores the sha256 of the secret, never the secret; views carry neither', async () => {
    const { raw, tokens } = await setup()
    const { token, secret } = await tokens.createToken({ name: 'ci', role: 'admin' })
    const [row, ...more] = rows(raw)
    expect(more).toEqual([])
    expect(row).toMatchObject({ id: token.id, role: 'admin', secret_hash: sha(secret), prefix: secret.slice(5, 13), revoked_at: null })
    expect(JSON.stringify(row)).not.toContain(secret.slice(5))
    expect(row!.prefix).toHaveLength(8)
    const listed = await tokens.listTokens()
    expect(listed).toEqual([token])
    expect(JSON.stringify(listed)).not.toContain(secret.slice(5))
    expect(JSON.stringify(listed)).not.toContain(sha(secret))
    expect(JSON.stringify(token)).not.toContain(sha(secret))
  })

  it('malformed, unknown and altered secrets are undefined, without touching anything', async () => {
    const { tokens, touches } = await setup()
    const { secret } = await tokens.createToken({ name: 'ci', role: 'viewer' })
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')
    const bad = ['', 'guts_', 'guts_short', `${secret}x`, ` ${secret}`, secret.toUpperCase(), secret.replace('guts_', 'gut5_'), flipped]
    for (const s of bad) expect({ s, caller: await tokens.verifyToken(s) }).toEqual({ s, caller: undefined })
    expect(await tokens.verifyToken(`guts_${'A'.repeat(43)}`)).toBeUndefined()
    expect(await tokens.verifyToken(undefined as unknown as string)).toBeUndefined()
    expect(await tokens.verifyToken(42 as unknown as string)).toBeUndefined()
    expect(touches).toEqual([])
  })

  it('a stored role this guts does not know grants nothing', async () => {
    const { store, tokens } = await setup()
    const secret = `guts_${'b'.repeat(43)}`
    await store.createToken({ id: 't-root', name: 'odd', role: 'root' as TokenRole, secretHash: sha(secret), prefix: 'bbbbbbbb' })
    expect(await tokens.verifyToken(secret)).toBeUndefined()
  })

  it('writes last used at most once a minute per token, across service instances too', async () => {
    let now = T0
    const { store, tokens, touches } = await setup(() => now)
    const { token, secret } = await tokens.createToken({ name: 'ci', role: 'viewer' })
    await Promise.all([tokens.verifyToken(secret), tokens.verifyToken(secret), tokens.verifyToken(secret)])
    expect(touches).toEqual([new Date(T0).toISOString()])
    now = T0 + MINUTE - 1
    await tokens.verifyToken(secret)
    // Another process (or a restarted server) reads the stored time and does not write either.
    await createTokens(
      async () => store,
      () => now,
    ).verifyToken(secret)
    expect(touches).toHaveLength(1)
    now = T0 + MINUTE
    await tokens.verifyToken(secret)
    expect(touches).toEqual([new Date(T0).toISOString(), new Date(T0 + MINUTE).toISOString()])
    expect((await tokens.listTokens()).find((t) => t.id === token.id)?.lastUsedAt).toBe(new Date(T0 + MINUTE).toISOString())
  })

  it('a failed last-used write does not turn a valid token away', async () => {
    const { store, tokens } = await setup()
    const { secret } = await tokens.createToken({ name: 'ci', role: 'viewer' })
    store.touchToken = async () => {
      throw new Error('database is locked')
    }
    expect(await tokens.verifyToken(secret)).toMatchObject({ role: 'viewer' })
  })

  it('revoke by a unique id prefix of 4+; an ambiguous one is GUTS_CONFLICT, none GUTS_NOT_FOUND', async () => {
    const { store, tokens } = await setup()
    for (const id of ['abcd1111-0000', 'abcd2222-0000'])
      await store.createToken({ id, name: id, role: 'viewer', secretHash: sha(id), prefix: id.slice(0, 8) })
    const ambiguous = await errorOf(tokens.revokeToken('abcd'))
    expect(ambiguous).toMatchObject({ code: 'GUTS_CONFLICT', message: expect.stringContaining('matches 2 API tokens') })
    expect(await errorOf(tokens.revokeToken('abc'))).toMatchObject({ code: 'GUTS_NOT_FOUND' })
    expect(await errorOf(tokens.revokeToken('zzzz'))).toMatchObject({ code: 'GUTS_NOT_FOUND', message: 'No API token with id "zzzz".' })
    expect((await tokens.revokeToken('abcd2')).id).toBe('abcd2222-0000')
    expect((await tokens.listTokens()).map((t) => [t.id, t.revokedAt !== undefined])).toEqual([
      ['abcd2222-0000', true],
      ['abcd1111-0000', false],
    ])
  })

  it('bad names and roles are GUTS_USAGE saying what is allowed; nothing is stored', async () => {
    const { raw, tokens } = await setup()
    for (const name of ['', '   ', 'x'.repeat(101), 'two\nlines', undefined as unknown as string])
      expect(await errorOf(tokens.createToken({ name, role: 'viewer' }))).toMatchObject({
        code: 'GUTS_USAGE',
        message: expect.stringContaining('1 to 100 characters'),
      })
    expect(await errorOf(tokens.createToken({ name: 'ci', role: 'root' }))).toMatchObject({
      code: 'GUTS_USAGE',
      message: 'Unknown token role "root": use viewer, operator or admin.',
    })
    expect(await errorOf(tokens.createToken({ name: 'ci', role: '' }))).toMatchObject({
      code: 'GUTS_USAGE',
      message: 'A token needs a role: use viewer, operator or admin.',
    })
    expect(rows(raw)).toEqual([])
  })

  it('is part of the one service, loaded on first use', async () => {
    const raw = await openSqliteDatabase(':memory:')
    const store = new SqliteStateStore(raw)
    await store.init()
    opened.push(store)
    const service = createMigrationService({ registry: registryOf({}, {}), store, workRoot: '/nonexistent/work' })
    const { token, secret } = await service.createToken({ name: 'dashboard', role: 'viewer' })
    expect(await service.verifyToken(secret)).toEqual({ id: token.id, name: 'dashboard', role: 'viewer' })
    expect((await service.listTokens()).map((t) => t.name)).toEqual(['dashboard'])
    expect((await service.revokeToken(token.id)).revokedAt).toBeDefined()
    expect(await service.verifyToken(secret)).toBeUndefined()
  })
})
