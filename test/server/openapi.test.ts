import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openApiDocument } from '../../src/server/openapi.js'
import { ROOT } from '../helpers/cli.js'

describe('OpenAPI document', () => {
  it('is what schemas/openapi.json holds: an API change is deliberate (npm run schemas, then commit)', async () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'schemas/openapi.json'), 'utf8')) as unknown
    expect(JSON.parse(JSON.stringify(await openApiDocument()))).toEqual(committed)
  })

  it('is OpenAPI 3.1; every operation has a summary and a success response', async () => {
    const doc = (await openApiDocument()) as {
      openapi: string
      paths: Record<string, Record<string, { responses?: object; summary?: string }>>
    }
    expect(doc.openapi).toBe('3.1.0')
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path}`).toBeTruthy()
        expect(
          Object.keys(op.responses ?? {}).some((code) => /^2\d\d$/.test(code)),
          `${method} ${path} has a 2xx response`,
        ).toBe(true)
      }
  })
})
