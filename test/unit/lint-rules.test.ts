import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'

/**
 * The layering rule and the cycle rule of eslint.config.js can fail: deliberately broken code is
 * linted with the project's own config and must be reported (`npm run lint` runs in .ci/run).
 */
const ROOT = join(import.meta.dirname, '../..')
const eslint = new ESLint({ cwd: ROOT })
const probes: string[] = []
afterAll(() => {
  for (const p of probes) rmSync(p, { force: true })
})

async function rulesHit(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) })
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

describe('lint holds the layering', () => {
  it('the core importing a built-in driver, the CLI or a driver plugin fails', { timeout: 60_000 }, async () => {
    expect(await rulesHit("import x from '../drivers/files/index.js'\nexport default x\n", 'src/core/probe.ts')).toEqual([
      expect.stringMatching(/no-restricted-imports: .*never imports a driver/),
    ])
    expect(await rulesHit("import { table } from '../cli/tables.js'\nexport default table\n", 'src/core/probe.ts')).toEqual([
      expect.stringMatching(/no-restricted-imports: .*never imports the CLI/),
    ])
    expect(await rulesHit("import vmware from '@guts/driver-vmware'\nexport default vmware\n", 'src/core/probe.ts')).toEqual([
      expect.stringMatching(/never imports a driver plugin/),
    ])
  })

  it('a driver importing the core, a plugin importing the engine, the SDK importing a package fail', { timeout: 60_000 }, async () => {
    expect(await rulesHit("import { short } from '../../core/short-id.js'\nexport default short\n", 'src/drivers/local/probe.ts')).toEqual([
      expect.stringMatching(/Drivers never touch the core/),
    ])
    expect(
      await rulesHit("import { short } from '../../../src/core/short-id.js'\nexport default short\n", 'plugins/driver-vmware/src/probe.ts'),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/Plugins never import the engine/)]))
    expect(await rulesHit("import { z } from 'zod'\nexport default z\n", 'plugins/sdk/src/probe.ts')).toEqual([
      expect.stringMatching(/@guts\/sdk has no dependencies/),
    ])
    expect(await rulesHit("import { sleep } from './net.js'\nexport default sleep\n", 'plugins/sdk/src/probe.ts')).toEqual([])
  })

  it('an import cycle fails', { timeout: 60_000 }, async () => {
    const a = join(ROOT, 'src/core/lint-probe-a.ts')
    const b = join(ROOT, 'src/core/lint-probe-b.ts')
    probes.push(a, b)
    writeFileSync(a, "import { b } from './lint-probe-b.js'\nexport const a = (): number => b() + 1\n")
    writeFileSync(b, "import { a } from './lint-probe-a.js'\nexport const b = (): number => a() - 1\n")
    const [result] = await eslint.lintFiles([a])
    expect(result!.messages.map((m) => m.ruleId)).toContain('import-x/no-cycle')
  })
})
