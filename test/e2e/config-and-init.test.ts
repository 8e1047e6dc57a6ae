import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir } from '../helpers/cli.js'

describe('guts config and guts plan init', () => {
  it('keeps user settings with conf and uses dataDir when no flag or env says otherwise', async () => {
    const home = tempDir()
    const env = { GUTS_DATA_DIR: '', XDG_CONFIG_HOME: join(home, 'config') }
    expect((await runCli(['config', 'set', 'dataDir', 'not/absolute'], { dataDir: home, env })).code).toBe(2)
    const set = await runCli(['config', 'set', 'dataDir', join(home, 'state')], { dataDir: home, env })
    expect(set.code).toBe(0)
    const get = await runCli(['config', 'get', '--json'], { dataDir: home, env })
    expect(JSON.parse(get.stdout)).toEqual({ dataDir: join(home, 'state') })
    const doctor = await runCli(['doctor', '--json'], { dataDir: home, env })
    expect(JSON.parse(doctor.stdout)).toContainEqual(expect.objectContaining({ name: 'data dir', ok: true, detail: join(home, 'state') }))
    expect(JSON.parse(doctor.stdout)).toContainEqual(
      expect.objectContaining({ name: 'state store', ok: true, detail: `SQLite ${join(home, 'state', 'guts.db')}: 0 migration(s)` }),
    )
    expect(readFileSync(join(home, 'config', 'guts', 'settings.json'), 'utf8')).toContain('state')
  })

  it('plan init without a terminal names the flags to use instead', async () => {
    const dir = tempDir()
    const r = await runCli(['plan', 'init', '--out', join(dir, 'plan.yaml')], { dataDir: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/needs a terminal/)
    expect(r.stderr).toMatch(/--source <driver> --source-option key=value/)
    expect(existsSync(join(dir, 'plan.yaml'))).toBe(false)
  })

  it('plan init with flags writes a plan that validates and migrates', async () => {
    const dir = tempDir()
    await makeSampleOva(dir, { name: 'web', disks: [{ sizeMiB: 4 }] })
    const plan = join(dir, 'plan.yaml')
    const init = await runCli(
      [
        'plan',
        'init',
        '--source',
        'files',
        '--source-option',
        `path=${join(dir, 'web.ova')}`,
        '--destination',
        'local',
        '--destination-option',
        `directory=${join(dir, 'out')}`,
        '--vm',
        'web',
        '--network',
        'VM Network=private',
        '--name',
        'from-init',
        '--out',
        plan,
      ],
      { dataDir: dir },
    )
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: '' })
    expect(readFileSync(plan, 'utf8')).toMatch(/from: VM Network\n\s+to: private/)
    expect((await runCli(['plan', 'validate', plan], { dataDir: dir })).code).toBe(0)
    expect((await runCli(['migrate', plan], { dataDir: dir })).code).toBe(0)
    const again = await runCli(['plan', 'init', '--source', 'files', '--destination', 'local', '--vm', 'web', '--out', plan], {
      dataDir: dir,
    })
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
  })

  it('plan init --mode: written as defaults.mode; a mode the source cannot do is a usage error', async () => {
    const dir = tempDir()
    const plan = join(dir, 'cold.yaml')
    const base = [
      'plan',
      'init',
      '--source',
      'files',
      '--source-option',
      `path=${join(dir, 'web.ova')}`,
      '--destination',
      'local',
      '--destination-option',
      'directory=out',
      '--vm',
      'web',
    ]
    const cold = await runCli([...base, '--mode', 'cold', '--out', plan], { dataDir: dir })
    expect({ code: cold.code, stderr: cold.stderr }).toEqual({ code: 0, stderr: '' })
    expect(readFileSync(plan, 'utf8')).toMatch(/defaults:\n\s+mode: cold/)
    const warm = await runCli([...base, '--mode', 'warm', '--out', join(dir, 'warm.yaml')], { dataDir: dir })
    expect(warm.code).toBe(2)
    expect(warm.stderr).toMatch(
      /The files source cannot do --mode warm: warm migration needs live export, changed-block tracking and power control/,
    )
    expect(existsSync(join(dir, 'warm.yaml'))).toBe(false)
  })
})
