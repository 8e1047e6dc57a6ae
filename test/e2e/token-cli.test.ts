import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OUTPUT_SCHEMAS } from '../../src/cli/output-schemas.js'
import { createTokens } from '../../src/core/service/tokens.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { runCli, tempDir } from '../helpers/cli.js'

/**
 * `guts token create|list|revoke` through the real CLI: the secret is printed once and is what
 * `guts serve` accepts; the state files, lists and revoke output never hold it.
 */
describe('guts token', () => {
  it('create --json gives the token and its secret once; list and revoke never show it; revoked, it stops verifying', async () => {
    const dataDir = tempDir()
    const created = await runCli(['token', 'create', '--name', 'ci-pipeline', '--role', 'operator', '--json'], { dataDir })
    expect(created.code, created.stderr).toBe(0)
    const out = JSON.parse(created.stdout) as { token: { id: string; prefix: string }; secret: string }
    expect(OUTPUT_SCHEMAS['token:create']!.safeParse(out).success).toBe(true)
    expect(out.secret).toMatch(/^guts_[A-Za-z0-9_-]{43}$/)
    expect(out.token).toEqual({
      id: expect.any(String),
      name: 'ci-pipeline',
      role: 'operator',
      prefix: out.secret.slice(5, 13),
      createdAt: expect.any(String),
    })

    // What `guts serve` will do with the secret: the same data dir, the service's check.
    const store = await openStateStore({ dataDir })
    try {
      expect(await createTokens(async () => store).verifyToken(out.secret)).toEqual({
        id: out.token.id,
        name: 'ci-pipeline',
        role: 'operator',
      })
    } finally {
      await store.close()
    }
    for (const file of ['guts.db', 'guts.db-wal'].map((f) => join(dataDir, f)).filter((f) => existsSync(f)))
      expect(readFileSync(file).includes(out.secret.slice(5)), file).toBe(false)

    const list = await runCli(['token', 'list', '--json'], { dataDir })
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).not.toContain(out.secret.slice(5))
    const listed = JSON.parse(list.stdout) as unknown[]
    expect(OUTPUT_SCHEMAS['token:list']!.safeParse(listed).success).toBe(true)
    expect(listed).toEqual([expect.objectContaining({ id: out.token.id, name: 'ci-pipeline', lastUsedAt: expect.any(String) })])

    const revoked = await runCli(['token', 'revoke', out.token.id.slice(0, 8), '--json'], { dataDir })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).not.toContain(out.secret.slice(5))
    const view = JSON.parse(revoked.stdout) as { id: string; revokedAt?: string }
    expect(OUTPUT_SCHEMAS['token:revoke']!.safeParse(view).success).toBe(true)
    expect(view.id).toBe(out.token.id)
    expect(view.revokedAt).toMatch(/Z$/)
    const again = await runCli(['token', 'revoke', out.token.id, '--json'], { dataDir })
    expect((JSON.parse(again.stdout) as { revokedAt?: string }).revokedAt).toBe(view.revokedAt)

    const after = await openStateStore({ dataDir })
    try {
      expect(await createTokens(async () => after).verifyToken(out.secret)).toBeUndefined()
    } finally {
      await after.close()
    }
  })

  it('without --json: the secret once with the warning, then a table without it', async () => {
    const dataDir = tempDir()
    const empty = await runCli(['token', 'list'], { dataDir })
    expect(empty.stdout).toContain('No API tokens yet. Create one with `guts token create')
    const created = await runCli(['token', 'create', '--name', 'dashboard', '--role', 'viewer'], { dataDir })
    expect(created.code, created.stderr).toBe(0)
    const secret = /^ {2}(guts_\S+)$/m.exec(created.stdout)?.[1] ?? ''
    expect(secret).toMatch(/^guts_[A-Za-z0-9_-]{43}$/)
    expect(created.stdout.split(secret)).toHaveLength(2)
    expect(created.stdout).toContain('it will not be shown again')
    const list = await runCli(['token', 'list'], { dataDir })
    const [header, row] = list.stdout.trim().split('\n')
    expect(header).toMatch(/^ID\s+NAME\s+ROLE\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED$/)
    expect(row).toMatch(
      new RegExp(`^[0-9a-f]{8}\\s+dashboard\\s+viewer\\s+${secret.slice(0, 13)}…\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+never$`),
    )
    expect(list.stdout).not.toContain(secret.slice(5))
  })

  it('bad input says what is allowed; an unknown id is GUTS_NOT_FOUND', async () => {
    const dataDir = tempDir()
    const badRole = await runCli(['token', 'create', '--name', 'x', '--role', 'root'], { dataDir })
    expect(badRole.code).toBe(2)
    expect(badRole.stderr).toMatch(/viewer, operator, admin/)
    const noName = await runCli(['token', 'create', '--name', ' ', '--role', 'viewer', '--json'], { dataDir })
    expect(noName.code).toBe(2)
    expect(JSON.parse(noName.stdout)).toMatchObject({ error: { code: 'GUTS_USAGE', message: expect.stringContaining('needs a name') } })
    const unknown = await runCli(['token', 'revoke', 'abcdef12', '--json'], { dataDir })
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      error: { code: 'GUTS_NOT_FOUND', suggestions: ['Run `guts token list` to see tokens and their ids.'] },
    })
  })
})
