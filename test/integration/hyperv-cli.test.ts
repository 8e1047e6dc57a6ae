import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { VmSummary } from '@guts/sdk'
import { runCli, tempDir, type CliResult } from '../helpers/cli.js'
import * as openstack from './openstack-lab.js'
import { labAvailable, labCmd, labPassword, readLab, writeLabProfile } from './hyperv-lab.js'

const TIMEOUT = 300_000

/**
 * The hyperv source through the real CLI, as a user runs it: a source profile in guts.config.yaml
 * (password by ${env:…}, the host key pinned), `guts vm list` and `guts vm show`, then migrations
 * of VMs this file alone uses: app01 cold (guts shuts the running guest down) → local, app02 live
 * (checkpoint, it keeps running) → OpenStack with volume boot, and the VM whose name and disk file
 * are injection attempts → local. Every landed disk equals the source disk's content.
 */
if (labAvailable()) {
  const lab = readLab()
  const EVIL = "x'; Remove-VM *; '$(Stop-Computer)"
  let dir: string
  const env = () => ({ GUTS_TEST_HV_PASSWORD: labPassword(lab) })
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { dataDir: join(dir, 'data'), cwd: dir, env: env() })
  const ok = (r: CliResult): string => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    return r.stdout
  }
  const state = (vm: string): string => labCmd('ps', `[string](Get-VM -Name '${vm}').State`).trim()
  const checkpoints = (vm: string): string => labCmd('ps', `@(Get-VMSnapshot -VMName '${vm}').Count`).trim()
  const drivePath = (vm: string, i = 0): string => labCmd('ps', `@(Get-VMHardDiskDrive -VMName '${vm}')[${i}].Path`).trim()
  /** Raw content of the VM's disk now (the lab's own reader, through any chain). */
  const sourceRaw = (winPath: string): string => {
    const out = join(dir, `src-${Math.random().toString(36).slice(2)}.raw`)
    labCmd('disk-raw', winPath, out)
    return out
  }
  /** The landed disk has the content the VM's disk has at the source now (qemu-img compare). */
  const sameAsSource = (vm: string, landed: string, format: 'raw' | 'qcow2') =>
    execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', format, sourceRaw(drivePath(vm)), landed])
  const plan = (name: string, lines: string[]) => {
    writeFileSync(join(dir, `${name}.yaml`), ['version: 1', `name: ${name}`, 'source: { profile: hv-lab }', ...lines, ''].join('\n'))
    return `${name}.yaml`
  }

  beforeAll(() => {
    dir = tempDir('guts-hyperv-cli-')
    writeLabProfile(dir, lab)
  })

  describe('guts vm list / vm show with a hyperv profile', () => {
    it('lists the host’s VMs with power state and host', async () => {
      const vms = JSON.parse(ok(await cli(['vm', 'list', '--source', 'hv-lab', '--json']))) as VmSummary[]
      expect(vms.map((v) => v.name)).toEqual(expect.arrayContaining(['web01', 'legacy01', 'Büro-Server-äöü', 'db01', EVIL]))
      expect(vms.find((v) => v.name === 'legacy01')).toMatchObject({ powerState: 'off', host: 'HV-LAB01' })
      const table = ok(await cli(['vm', 'list', '--source', 'hv-lab', '--name', 'B*']))
      expect(table).toMatch(/^Büro-Server-äöü\s+c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03\s+off\s+HV-LAB01$/m)
    })

    it('shows a generation 2 VM (UEFI, secure boot, two SCSI VHDX) and a generation 1 VM (IDE VHD, legacy NIC)', async () => {
      const web = JSON.parse(ok(await cli(['vm', 'show', 'web01', '--source', 'hv-lab', '--json']))) as {
        firmware: string
        secureBoot: boolean
        disks: { id: string; format: string; controller: string }[]
        nics: { model: string; network: string }[]
      }
      expect([web.firmware, web.secureBoot]).toEqual(['uefi', true])
      expect(web.disks.map((d) => `${d.id} ${d.format} ${d.controller}`)).toEqual(['scsi0:0 vhdx scsi', 'scsi0:1 vhdx scsi'])
      const legacy = ok(await cli(['vm', 'show', 'legacy01', '--source', 'hv-lab']))
      expect(legacy).toMatch(/ide0:0/)
      expect(legacy).toMatch(/e1000/)
      expect(legacy).toMatch(/bios/)
      const db = JSON.parse(ok(await cli(['vm', 'show', 'db01', '--source', 'hv-lab', '--json']))) as {
        os: { family: string; distro?: string }
      }
      expect(db.os).toMatchObject({ family: 'linux', distro: 'debian' })
    })
  })

  describe('guts migrate from Hyper-V', () => {
    it(
      'cold: the running app01 is shut down, its disk lands in local equal to the source',
      async () => {
        expect(state('app01')).toBe('Running')
        const r = await cli([
          'migrate',
          plan('cold-local', ['destination: { driver: local, directory: out }', 'vms: [{ name: app01, mode: cold, powerOff: shutdown }]']),
        ])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        expect(r.stdout).toMatch(/downtime \d/)
        expect(state('app01')).toBe('Off')
        expect(checkpoints('app01')).toBe('0')
        sameAsSource('app01', join(dir, 'out', 'app01', 'app01-disk0.qcow2'), 'qcow2')
        labCmd('vm-state', 'app01', 'Running')
      },
      TIMEOUT,
    )

    it(
      'injection attempts in a VM name and its disk file name are just names',
      async () => {
        const before = labCmd('ps', '@(Get-VM).Count').trim()
        const r = await cli([
          'migrate',
          plan('evil', ['destination: { driver: local, directory: evil-out }', `vms: [{ name: ${JSON.stringify(EVIL)}, mode: cold }]`]),
        ])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        expect(labCmd('ps', '@(Get-VM).Count').trim()).toBe(before)
        expect(state('web01')).toBe('Running')
      },
      TIMEOUT,
    )

    it(
      'kill -9 during a live export, then guts migration resume: the dead run’s checkpoint is removed, nothing is left',
      async () => {
        const dataDir = join(dir, 'data-resume')
        let id = ''
        const first = await runCli(
          [
            'migrate',
            plan('resume', [
              'destination: { driver: local, directory: resume-out, format: raw }',
              'vms: [{ name: app03, mode: snapshot }]',
            ]),
            '--json',
          ],
          {
            dataDir,
            cwd: dir,
            env: env(),
            onStdout: (chunk, child) => {
              id ||= /"migrationId":"([^"]+)"/.exec(chunk)?.[1] ?? ''
              if (chunk.includes('"type":"disk.progress"') && !child.killed) child.kill('SIGKILL')
            },
          },
        )
        expect(first.signal).toBe('SIGKILL')
        expect(id).not.toBe('')
        expect(labCmd('ps', "@(Get-VMSnapshot -VMName app03 | ForEach-Object { $_.Name }) -join '|'").trim()).toBe(`guts ${id}`)
        const resumed = await runCli(['migration', 'resume', id.slice(0, 8)], { dataDir, cwd: dir, env: env() })
        expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
        expect(checkpoints('app03')).toBe('0')
        expect(state('app03')).toBe('Running')
        sameAsSource('app03', join(dir, 'resume-out', 'app03', 'app03-disk0.raw'), 'raw')
      },
      TIMEOUT,
    )

    it(
      'a VM whose disk file is missing fails at preflight with the host’s message, and nothing is made',
      async () => {
        const r = await cli([
          'migrate',
          plan('orphan', ['destination: { driver: local, directory: orphan-out }', 'vms: [{ name: orphan01, mode: cold }]']),
        ])
        expect(r.code).toBe(1)
        expect(r.stdout + r.stderr).toMatch(/disk-unreadable|cannot be read on the host/)
        expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /) // no stack trace
      },
      TIMEOUT,
    )

    if (openstack.labAvailable()) {
      /**
       * Migrates one VM to OpenStack with volume boot; checks an ACTIVE server on one volume whose
       * content equals the source disk's (the lab's Cinder keeps each volume as a sparse raw file,
       * GiB-rounded: compare reads the tail as the zeros it is), then deletes what the migration made.
       */
      const toOpenStack = async (vm: string, mode: 'cold' | 'snapshot', network: string) => {
        const client = openstack.labClient()
        let report: { id: string; vms: { instance: { id: string; data: { volumes: string[] } } }[] } | undefined
        try {
          const r = await cli([
            'migrate',
            plan(`${mode}-openstack-${vm}`, [
              `destination: { driver: openstack, cloud: ${openstack.cloud}, bootFrom: volume }`,
              `defaults: { flavor: auto, networks: [{ from: ${network}, to: lab-net, keepMac: false }] }`,
              `vms: [{ name: ${vm}, mode: ${mode} }]`,
            ]),
            '--json',
          ])
          expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
          report = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { report: NonNullable<typeof report> }).report
          const instance = report.vms[0]!.instance
          expect((await client.nova.server(instance.id))?.status).toBe('ACTIVE')
          expect(instance.data.volumes.length).toBe(1)
          sameAsSource(vm, openstack.volumeFile(instance.data.volumes[0]!), 'raw')
        } finally {
          if (report) await openstack.deleteMigrationResources(client, report.id, report.vms[0]?.instance.id)
          await client.close()
        }
      }

      it(
        'cold: legacy01 (generation 1, IDE VHD) → OpenStack, booted from a volume',
        async () => {
          await toOpenStack('legacy01', 'cold', 'vSwitch-Legacy')
          expect(state('legacy01')).toBe('Off')
        },
        TIMEOUT,
      )

      it(
        'snapshot: app02 keeps running, an ACTIVE server boots from a volume; no checkpoint is left',
        async () => {
          await toOpenStack('app02', 'snapshot', 'vSwitch-Prod')
          expect(state('app02')).toBe('Running')
          expect(checkpoints('app02')).toBe('0')
        },
        TIMEOUT,
      )
    }
  })
}
