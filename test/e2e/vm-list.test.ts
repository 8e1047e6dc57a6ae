import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'

/**
 * `guts vm list --source <profile|plan>` through the real CLI with the built-in files driver:
 * a guts.config.yaml whose source profiles point at a directory of sample OVAs (one through an
 * `${env:…}` reference, one through a path relative to the config file).
 */
describe('guts vm list --source', () => {
  let dir: string
  let ovas: string
  const env = { GUTS_TEST_OVA_DIR: '' }
  const list = (args: string[], extra: Record<string, string> = {}, cwd = dir): Promise<CliResult> =>
    runCli(['vm', 'list', ...args], { dataDir: join(dir, 'data'), cwd, env: { ...env, ...extra } })
  const names = (r: CliResult): string[] => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    return (JSON.parse(r.stdout) as { name: string }[]).map((v) => v.name)
  }

  beforeAll(async () => {
    dir = tempDir('guts-vm-list-')
    ovas = join(dir, 'ovas')
    mkdirSync(join(ovas, 'db'), { recursive: true })
    // Scanning a directory: each .ova is a VM named after its file; a sub-folder holding one is a VM named after the folder.
    await makeSampleOva(ovas, { name: 'web-01', disks: [{ sizeMiB: 2 }] })
    await makeSampleOva(ovas, { name: 'web-02', disks: [{ sizeMiB: 2 }] })
    await makeSampleOva(join(ovas, 'db'), { name: 'db-01', disks: [{ sizeMiB: 2 }] })
    env.GUTS_TEST_OVA_DIR = ovas
    writeFileSync(
      join(dir, 'guts.config.yaml'),
      [
        'profiles:',
        '  sources:',
        '    lab-files: { driver: files, path: "${env:GUTS_TEST_OVA_DIR}" }',
        '    relative: { driver: files, path: ovas/db }',
        '    broken: { driver: files, pth: ovas }',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'plan.yaml'),
      [
        'version: 1',
        'name: list-me',
        'source: { profile: lab-files }',
        'destination: { driver: local, directory: out }',
        'vms: [{ name: web-01 }]',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'plan-without-extension'),
      [
        'version: 1',
        'name: list-me',
        'source: { driver: files, path: ovas }',
        'destination: { driver: local, directory: out }',
        'vms: [{ name: web-01 }]',
        '',
      ].join('\n'),
    )
  })

  it('lists a source profile (its ${env:…} reference resolved) as a table', async () => {
    const r = await list(['--source', 'lab-files'])
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+ID\s+POWER\s+FOLDER\s+HOST$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['db', 'db', 'off'],
      ['web-01', 'web-01', 'off'],
      ['web-02', 'web-02', 'off'],
    ])
    expect(lines[1]).toContain(join(ovas, 'db'))
  })

  it('--json, and the --name, --folder and --power-state filters', async () => {
    const all = JSON.parse((await list(['--source', 'lab-files', '--json'])).stdout) as {
      name: string
      powerState: string
      folder: string
    }[]
    expect(all).toEqual([
      { id: 'db', name: 'db', powerState: 'off', folder: join(ovas, 'db') },
      { id: 'web-01', name: 'web-01', powerState: 'off', folder: ovas },
      { id: 'web-02', name: 'web-02', powerState: 'off', folder: ovas },
    ])
    expect(names(await list(['--source', 'lab-files', '--json', '--name', 'web-*']))).toEqual(['web-01', 'web-02'])
    expect(names(await list(['--source', 'lab-files', '--json', '--folder', join(ovas, 'db')]))).toEqual(['db'])
    expect(names(await list(['--source', 'lab-files', '--json', '--power-state', 'off', '--name', '*-02']))).toEqual(['web-02'])
    expect(names(await list(['--source', 'lab-files', '--json', '--power-state', 'on']))).toEqual([])
  })

  it('resolves relative profile paths against the config file, also from another directory with --config', async () => {
    expect(names(await list(['--source', 'relative', '--json']))).toEqual(['db-01'])
    expect(names(await list(['--config', join(dir, 'guts.config.yaml'), '--source', 'relative', '--json'], {}, tempDir()))).toEqual([
      'db-01',
    ])
  })

  it('takes a plan as --source (by extension or because the file exists) and as --plan, the old flag', async () => {
    const byProfile = names(await list(['--source', 'lab-files', '--json']))
    expect(names(await list(['--source', join(dir, 'plan.yaml'), '--json']))).toEqual(byProfile)
    expect(names(await list(['--plan', 'plan.yaml', '--json']))).toEqual(byProfile)
    expect(names(await list(['--source', 'plan-without-extension', '--json', '--name', 'web-0?']))).toEqual(['web-01', 'web-02'])
    const missing = await list(['--source', 'nowhere.yaml'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/Plan file nowhere\.yaml does not exist/)
  })

  it('an unknown profile is exit 2 and names the known profiles (as JSON with --json)', async () => {
    const r = await list(['--source', 'vc-nope'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/No source profile "vc-nope" in .*guts\.config\.yaml/)
    expect(r.stderr).toMatch(/Source profiles in .*: lab-files, relative, broken/)
    const j = await list(['--source', 'vc-nope', '--json'])
    expect(j.code).toBe(2)
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'GUTS_USAGE' } })
    const none = await list(['--source', 'lab-files'], {}, tempDir())
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/no guts config found/)
  })

  it('no source, both flags, an unset ${env:…} and a bad profile option are exit 2', async () => {
    const neither = await list([])
    expect(neither.code).toBe(2)
    expect(neither.stderr).toMatch(/--source <profile>/)
    expect(neither.stderr).toMatch(/lab-files, relative, broken/)
    const both = await list(['--source', 'lab-files', '--plan', 'plan.yaml'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/cannot also be provided/)
    // Without `env`: the CLI gets only this process's environment, which has no GUTS_TEST_OVA_DIR.
    const unset = await runCli(['vm', 'list', '--source', 'lab-files'], { dataDir: join(dir, 'data'), cwd: dir })
    expect(unset.code).toBe(2)
    expect(unset.stderr).toMatch(/profiles\.sources\.lab-files\.path: environment variable GUTS_TEST_OVA_DIR is not set/)
    expect(unset.stderr).not.toMatch(/\n\s+at /)
    const broken = await list(['--source', 'broken'])
    expect(broken.code).toBe(2)
    expect(broken.stderr).toMatch(/profiles\.sources\.broken\.pth: unknown option "pth" for driver "files"/)
  })
})
