import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkReferenceSyntax, isOnlyReferences, resolveReferences } from '../../src/core/plan/references.js'
import { REDACTED, redactPlanText, redactValue } from '../../src/core/plan/redact.js'
import { tempDir } from '../helpers/cli.js'

describe('plan references', () => {
  it('resolves ${env:…} and ${file:…} (relative to the plan), keeping $${ literal', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'secrets'))
    writeFileSync(join(dir, 'secrets', 'pw'), 's3cret\n')
    const { value, issues } = resolveReferences(
      { a: '${env:USER_X}@host', b: ['${file:secrets/pw}'], c: 'cost $${not-a-ref}', n: 4 },
      { env: { USER_X: 'alice' }, baseDir: dir },
    )
    expect(issues).toEqual([])
    expect(value).toEqual({ a: 'alice@host', b: ['s3cret'], c: 'cost ${not-a-ref}', n: 4 })
  })

  it('reports unset variables and unreadable files by path, without values', () => {
    const { issues } = resolveReferences(
      { source: { password: '${env:NOPE_1}', key: '${file:/nonexistent/k}' } },
      { env: {}, baseDir: '/' },
    )
    expect(issues).toEqual([
      { path: ['source', 'password'], issue: expect.stringMatching(/environment variable NOPE_1 is not set/) },
      { path: ['source', 'key'], issue: expect.stringMatching(/cannot read \/nonexistent\/k .*ENOENT/) },
    ])
  })

  it('checks syntax without resolving', () => {
    expect(checkReferenceSyntax({ a: '${env:OK_1}', b: '${env:1bad}', c: '${vault:x}', d: '${file:}' }).map((i) => i.path[0])).toEqual([
      'b',
      'c',
      'd',
    ])
    expect(isOnlyReferences('${env:A}')).toBe(true)
    expect(isOnlyReferences('pw-${env:A}')).toBe(false)
  })
})

describe('secret redaction', () => {
  it('redacts literal secrets in stored plan text and keeps references and comments', () => {
    const text = '# my plan\nsource:\n  driver: vmware\n  password: hunter2 # oops\n  token: ${env:TOKEN}\n'
    const r = redactPlanText(text)
    expect(r.redacted).toBe(true)
    expect(r.text).not.toContain('hunter2')
    expect(r.text).toContain(REDACTED)
    expect(r.text).toContain('${env:TOKEN}')
    expect(r.text).toContain('# my plan')
    expect(redactPlanText('source:\n  password: ${env:P}\n').redacted).toBe(false)
  })

  it('redacts values under secret-looking keys in JSON', () => {
    expect(redactValue({ url: 'x', applicationCredentialSecret: 'abc', nested: [{ apiKey: 'k' }] })).toEqual({
      url: 'x',
      applicationCredentialSecret: REDACTED,
      nested: [{ apiKey: REDACTED }],
    })
  })
})
