import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { VmDescriptor, VmSummary } from '@guts/sdk'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'
import { labAvailable, readLab } from './vmware-lab.js'

/**
 * `guts vm list --source <profile|plan>` (and `guts vm show` of one VM) through the real CLI against vcsimx: a vmware source
 * profile in guts.config.yaml whose password is an `${env:…}` reference. Read-only: it changes no
 * VM, so it can run next to vmware-suite.test.ts (which powers DC0_C0_RP0_VM1 off and on again);
 * exact expectations use only the DC0_H0_* VMs, which no test powers off.
 */
if (labAvailable()) {
  const lab = readLab()

  describe('guts vm list against vcsim', () => {
    let dir: string
    const list = (args: string[], password = lab.password): Promise<CliResult> =>
      runCli(['vm', 'list', ...args], { dataDir: join(dir, 'data'), cwd: dir, env: { GUTS_TEST_VC_PASSWORD: password } })
    const json = (r: CliResult): VmSummary[] => {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
      return JSON.parse(r.stdout) as VmSummary[]
    }
    // Other test files create and destroy VMs of their own (guts-*) meanwhile: only the model VMs count.
    const names = (r: CliResult): string[] =>
      json(r)
        .map((v) => v.name)
        .filter((n) => n.startsWith('DC0_'))

    beforeAll(() => {
      dir = tempDir('guts-vm-list-vcsim-')
      writeFileSync(
        join(dir, 'guts.config.yaml'),
        [
          'profiles:',
          '  sources:',
          '    vc-lab:',
          '      driver: vmware',
          `      url: ${JSON.stringify(lab.url)}`,
          `      username: ${JSON.stringify(lab.username)}`,
          '      password: ${env:GUTS_TEST_VC_PASSWORD}',
          `      thumbprint: ${JSON.stringify(lab.thumbprint)}`,
          '',
        ].join('\n'),
      )
      writeFileSync(
        join(dir, 'wave.yaml'),
        [
          'version: 1',
          'name: wave',
          'source: { profile: vc-lab }',
          'destination: { driver: local, directory: out }',
          'vms: [{ match: { name: "DC0_*" } }]',
          '',
        ].join('\n'),
      )
    })

    it('lists every VM of a vmware profile with folder, host and power state', async () => {
      const vms = json(await list(['--source', 'vc-lab', '--json']))
      expect(vms.length).toBeGreaterThanOrEqual(4)
      const vm0 = vms.find((v) => v.name === 'DC0_H0_VM0')!
      expect(vm0.id).toMatch(/^vm-\d+$/)
      expect({ folder: vm0.folder, host: vm0.host, powerState: vm0.powerState }).toEqual({
        folder: '/DC0/vm',
        host: 'DC0_H0',
        powerState: 'on',
      })
      const table = await list(['--source', 'vc-lab'])
      expect(table.code).toBe(0)
      expect(table.stdout).toMatch(new RegExp(`^DC0_H0_VM0\\s+${vm0.id}\\s+on\\s+/DC0/vm\\s+DC0_H0$`, 'm'))
    })

    it('filters by --name, --folder and --power-state, alone and together', async () => {
      const all = names(await list(['--source', 'vc-lab', '--json']))
      expect(names(await list(['--source', 'vc-lab', '--json', '--name', 'DC0_H0_VM*']))).toEqual(['DC0_H0_VM0', 'DC0_H0_VM1'])
      expect(names(await list(['--source', 'vc-lab', '--json', '--folder', '/DC0/vm']))).toEqual(all)
      expect(names(await list(['--source', 'vc-lab', '--json', '--folder', '/DC0/vm/nothing-here']))).toEqual([])
      expect(
        names(await list(['--source', 'vc-lab', '--json', '--folder', '/DC0/vm', '--name', 'DC0_H0_VM?', '--power-state', 'on'])),
      ).toEqual(['DC0_H0_VM0', 'DC0_H0_VM1'])
      expect(names(await list(['--source', 'vc-lab', '--json', '--folder', '/DC0', '--name', 'DC0_H0_*', '--power-state', 'off']))).toEqual(
        [],
      )
      // Other VMs' power states may change meanwhile (vmware-suite.test.ts): check the filter, not a fixed list.
      for (const state of ['on', 'off'] as const) {
        const vms = json(await list(['--source', 'vc-lab', '--json', '--power-state', state]))
        expect(vms.every((v) => v.powerState === state)).toBe(true)
        expect(vms.filter((v) => v.name.startsWith('DC0_')).every((v) => all.includes(v.name))).toBe(true)
      }
    })

    it('lists a plan whose source is that profile, by --source and by --plan', async () => {
      const byProfile = names(await list(['--source', 'vc-lab', '--json', '--name', 'DC0_H0_*']))
      expect(names(await list(['--source', 'wave.yaml', '--json', '--name', 'DC0_H0_*']))).toEqual(byProfile)
      expect(names(await list(['--plan', join(dir, 'wave.yaml'), '--json', '--name', 'DC0_H0_*']))).toEqual(byProfile)
    })

    it('guts vm show DC0_H0_VM0 --source <profile>: its disks and NIC as tables, by name and by --id', async () => {
      const run = (args: string[]) =>
        runCli(['vm', 'show', ...args], { dataDir: join(dir, 'data'), cwd: dir, env: { GUTS_TEST_VC_PASSWORD: lab.password } })
      const r = await run(['DC0_H0_VM0', '--source', 'vc-lab'])
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
      const lines = r.stdout.trimEnd().split('\n')
      expect(lines.slice(0, 5).map((l) => l.split(/\s{2,}/))).toEqual([
        ['NAME', 'DC0_H0_VM0'],
        ['ID', expect.stringMatching(/^vm-\d+$/)],
        ['HOST', 'DC0_H0'],
        ['FOLDER', '/DC0/vm'],
        ['POWER', 'on'],
      ])
      expect(lines).toContain('FIRMWARE  bios')
      const disk = lines[lines.indexOf('DISKS') + 2]!.split(/\s{2,}/)
      expect({ index: disk[1], size: disk[2], format: disk[4], controller: disk[5] }).toEqual({
        index: '0',
        size: expect.stringMatching(/^[\d.]+ [KMGT]iB$/),
        format: 'vmdk',
        controller: 'scsi',
      })
      const nic = lines[lines.indexOf('NICS') + 2]!.split(/\s{2,}/)
      expect(nic[1]).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
      expect(nic[2]).toMatch(/.+/)
      const vm = JSON.parse((await run(['DC0_H0_VM0', '--source', 'vc-lab', '--json'])).stdout) as VmDescriptor
      expect(vm).toMatchObject({ name: 'DC0_H0_VM0', id: lines[1]!.split(/\s+/)[1], firmware: 'bios', os: { family: 'other' } })
      expect(vm.disks.length).toBeGreaterThan(0)
      expect(vm.nics.length).toBeGreaterThan(0)
      const byId = JSON.parse((await run(['--id', vm.id, '--source', 'vc-lab', '--json'])).stdout) as VmDescriptor
      expect(byId).toEqual(vm)
      const unknown = await run(['DC0_H0_VM9', '--source', 'vc-lab'])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toMatch(/No VM named "DC0_H0_VM9" on source profile "vc-lab"[\s\S]*Did you mean .*"DC0_H0_VM0"/)
    })

    it('the profile password really comes from ${env:…}: a wrong one fails the login (exit 1)', async () => {
      const r = await list(['--source', 'vc-lab'], 'not-the-password')
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/GUTS_AUTH_FAILED/)
      const unknown = await list(['--source', 'vc-nope'])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toMatch(/No source profile "vc-nope".*\n[\s\S]*Source profiles in .*: vc-lab/)
    })
  })
}
