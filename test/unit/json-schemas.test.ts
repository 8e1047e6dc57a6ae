import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands-index.js'
import { OUTPUT_SCHEMAS, outputJsonSchema } from '../../src/cli/output-schemas.js'

const ROOT = join(import.meta.dirname, '../..')

describe('--json output schemas', () => {
  it('every command has one, and every command has --json', () => {
    expect(Object.keys(OUTPUT_SCHEMAS).sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const [id, command] of Object.entries(COMMANDS))
      expect({ id, json: (command as { enableJsonFlag?: boolean }).enableJsonFlag }).toEqual({ id, json: true })
  })

  it('the committed schemas/ match the code (run `npm run schemas` after a deliberate change)', () => {
    for (const id of Object.keys(OUTPUT_SCHEMAS)) {
      const committed = JSON.parse(readFileSync(join(ROOT, 'schemas', `${id.replace(/:/g, '-')}.json`), 'utf8'))
      expect({ id, schema: committed }).toEqual({ id, schema: outputJsonSchema(id) })
    }
  })

  it('a report without its status fails the migrate schema (the check can fail)', () => {
    const report = { id: 'm', name: 'n', status: 'succeeded', createdAt: '2026-01-01T00:00:00.000Z', vms: [] }
    expect(OUTPUT_SCHEMAS.migrate!.safeParse({ type: 'report', report }).success).toBe(true)
    const { status: _s, ...broken } = report
    expect(OUTPUT_SCHEMAS.migrate!.safeParse({ type: 'report', report: broken }).success).toBe(false)
  })
})
