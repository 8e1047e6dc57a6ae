import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { planWizard } from '../../src/cli/plan-wizard.js'
import { createMigrationService } from '../../src/core/service.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { DriverRegistry } from '../../src/drivers/registry.js'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { scriptedAsker } from '../helpers/scripted-asker.js'

describe('plan wizard (files → local)', () => {
  it('asks only what is needed, writes only what was given, and the plan runs as written', async () => {
    const dir = tempDir()
    await makeSampleOva(dir, { name: 'web', disks: [{ sizeMiB: 4 }] })
    const service = createMigrationService({
      registry: DriverRegistry.builtin(),
      store: () => openStateStore({ dataDir: dir }),
      workRoot: join(dir, 'work'),
      env: {},
    })
    const ask = scriptedAsker([
      [/^Plan name/, 'drafted'],
      [/^Source/, 'files'],
      [/^files path/, join(dir, 'web.ova')],
      [/^VMs to migrate/, ['web']],
      [/^Destination$/, 'local'],
      [/^local directory/, join(dir, 'out')],
      [/^Set advanced options \(format\)/, false],
      [/^Destination network for source network "Storage"/, ''],
      [/^Destination network for source network "VM Network"/, 'private'],
    ])
    const draft = await planWizard(service, ask, {})
    expect(ask.remaining()).toBe(0)
    const text = await service.draftPlan(draft, join(dir, 'plan.yaml'))
    expect(text).not.toMatch(/format:|vms:\s*\[\]|\$\{env:/)
    writeFileSync(join(dir, 'plan.yaml'), text)
    const run = await runCli(['migrate', join(dir, 'plan.yaml')], { dataDir: join(dir, 'state') })
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/^Migration [0-9a-f-]{36} \(drafted\)\n$/),
    })
    expect(JSON.parse(readFileSync(join(dir, 'out', 'web', 'vm.json'), 'utf8'))).toMatchObject({ name: 'web' })
  })

  it('a mode the source cannot do is refused before anything is written', async () => {
    const dir = tempDir()
    const service = createMigrationService({
      registry: DriverRegistry.builtin(),
      store: () => openStateStore({ dataDir: dir }),
      workRoot: join(dir, 'work'),
      env: {},
    })
    const draft = {
      name: 'w',
      source: { driver: 'files', options: { path: dir } },
      destination: { driver: 'local', options: { directory: dir } },
      vms: ['x'],
      networks: [],
      mode: 'warm' as const,
    }
    await expect(service.draftPlan(draft)).rejects.toMatchObject({
      code: 'GUTS_USAGE',
      message: expect.stringMatching(/cannot do mode warm/),
    })
  })
})
