import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { VmDescriptor } from '@guts/sdk'
import { OUTPUT_SCHEMAS } from '../../src/cli/output-schemas.js'
import { makeSampleOva, SAMPLE_NICS } from '../fixtures/make-sample-ova.js'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'

const MiB = 2 ** 20

/**
 * `guts vm show NAME|--id ID --source <profile|plan>` through the real CLI with the built-in files
 * driver: a directory of sample OVAs behind a source profile, some named with glob characters
 * (`web-[1]` as a glob would be `web-1`, `web-*` every web VM). Two VMs cannot share a name with
 * this driver (it refuses the folder), so that case is tested at the service
 * (test/unit/describe-source-vm.test.ts).
 */
describe('guts vm show', () => {
  let dir: string
  let ovas: string
  const show = (args: string[], cwd = dir): Promise<CliResult> => runCli(['vm', 'show', ...args], { dataDir: join(dir, 'data'), cwd })
  const descriptor = (r: CliResult): VmDescriptor => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    return JSON.parse(r.stdout) as VmDescriptor
  }

  beforeAll(async () => {
    dir = tempDir('guts-vm-show-')
    ovas = join(dir, 'ovas')
    await makeSampleOva(ovas, { name: 'web-01', disks: [{ sizeMiB: 3 }, { sizeMiB: 2 }] })
    for (const name of ['web-1', 'web-[1]', 'web-*']) await makeSampleOva(ovas, { name, disks: [{ sizeMiB: 1 }] })
    writeFileSync(join(dir, 'guts.config.yaml'), ['profiles:', '  sources:', '    lab-files: { driver: files, path: ovas }', ''].join('\n'))
    writeFileSync(
      join(dir, 'plan.yaml'),
      [
        'version: 1',
        'name: show-me',
        'source: { profile: lab-files }',
        'destination: { driver: local, directory: out }',
        'vms: [{ name: web-01 }]',
        '',
      ].join('\n'),
    )
  })

  it('by name: the VM, then its disks and NICs as tables', async () => {
    const r = await show(['web-01', '--source', 'lab-files'])
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.slice(0, 9)).toEqual([
      'NAME      web-01',
      'ID        web-01',
      'HOST      -',
      `FOLDER    ${ovas}`,
      'POWER     off',
      'CPUS      2',
      'MEMORY    2048 MiB',
      expect.stringMatching(/^FIRMWARE {2}(bios|uefi, secure boot (on|off))$/),
      expect.stringMatching(/^OS {8}\S/),
    ])
    const disks = lines.indexOf('DISKS')
    expect(lines[disks + 1]).toMatch(/^ID\s+INDEX\s+SIZE\s+ALLOCATED\s+FORMAT\s+CONTROLLER\s+NAME$/)
    expect(lines[disks + 2]!.split(/\s{2,}/)).toEqual(['disk-0', '0', '3.0 MiB', '-', 'vmdk', 'scsi', 'web-01-disk1.vmdk'])
    expect(lines[disks + 3]!.split(/\s{2,}/)).toEqual(['disk-1', '1', '2.0 MiB', '-', 'vmdk', 'scsi', 'web-01-disk2.vmdk'])
    const nics = lines.indexOf('NICS')
    expect(lines[nics + 1]).toMatch(/^ID\s+MAC\s+NETWORK\s+MODEL\s+IPS$/)
    expect(lines.slice(nics + 2).map((l) => l.split(/\s{2,}/).slice(1, 3))).toEqual(SAMPLE_NICS.map((n) => [n.mac, n.network]))
  })

  it('--json is the descriptor and fits the vm:show schema; --id finds the same VM, also through a plan', async () => {
    const vm = descriptor(await show(['web-01', '--source', 'lab-files', '--json']))
    expect(OUTPUT_SCHEMAS['vm:show']!.safeParse(vm).error).toBeUndefined()
    expect({ id: vm.id, name: vm.name, cpus: vm.cpus, memoryMiB: vm.memoryMiB }).toEqual({
      id: 'web-01',
      name: 'web-01',
      cpus: 2,
      memoryMiB: 2048,
    })
    expect(vm.disks.map((d) => [d.id, d.index, d.virtualSize, d.format])).toEqual([
      ['disk-0', 0, 3 * MiB, 'vmdk'],
      ['disk-1', 1, 2 * MiB, 'vmdk'],
    ])
    expect(vm.nics.map((n) => ({ mac: n.mac, network: n.network }))).toEqual(SAMPLE_NICS)
    expect(descriptor(await show(['--id', vm.id, '--source', 'lab-files', '--json']))).toEqual(vm)
    expect(descriptor(await show(['web-01', '--source', 'plan.yaml', '--json']))).toEqual(vm)
    // A broken descriptor fails the schema: the check above can fail.
    expect(OUTPUT_SCHEMAS['vm:show']!.safeParse({ ...vm, disks: [{ id: 'd', index: 0 }] }).success).toBe(false)
  })

  it('a name with glob characters matches only the VM of exactly that name', async () => {
    expect(descriptor(await show(['web-[1]', '--source', 'lab-files', '--json'])).id).toBe('web-[1]')
    expect(descriptor(await show(['web-*', '--source', 'lab-files', '--json'])).id).toBe('web-*')
    const pattern = await show(['web-0?', '--source', 'lab-files'])
    expect(pattern.code).toBe(1)
    expect(pattern.stderr).toMatch(/GUTS_NOT_FOUND\]: No VM named "web-0\?" on source profile "lab-files"\./)
  })

  it('an unknown name is exit 1 with close names and how to list the source (as JSON with --json)', async () => {
    const r = await show(['Web-01', '--source', 'lab-files'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Error [GUTS_NOT_FOUND]: No VM named "Web-01" on source profile "lab-files".')
    expect(r.stderr).toContain('Did you mean "web-01"?')
    expect(r.stderr).toContain('guts vm list --source lab-files')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const j = await show(['nothing-like-it', '--source', 'lab-files', '--json'])
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout)).toMatchObject({
      error: { code: 'GUTS_NOT_FOUND', suggestions: ["See every VM's exact name: guts vm list --source lab-files"] },
    })
    const id = await show(['--id', 'vm-404', '--source', 'lab-files'])
    expect(id.code).toBe(1)
    expect(id.stderr).toMatch(/GUTS_NOT_FOUND/)
  })

  it('neither NAME nor --id, both, or no source: exit 2', async () => {
    const neither = await show(['--source', 'lab-files'])
    expect(neither.code).toBe(2)
    expect(neither.stderr).toMatch(/GUTS_USAGE\]: Say which VM: its exact name, or --id <id>\./)
    const both = await show(['web-01', '--id', 'web-01', '--source', 'lab-files'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/either a VM name or --id, not both/)
    const noSource = await show(['web-01'])
    expect(noSource.code).toBe(2)
    expect(noSource.stderr).toMatch(/Say which source the VM is on: --source <profile>/)
    expect(noSource.stderr).toMatch(/Source profiles in .*: lab-files/)
  })
})
