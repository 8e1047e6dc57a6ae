import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DescribeSchema, guestOs, powerState, preflightFindings, toDescriptor } from '../src/testing.js'

// Windows PowerShell 5.1's layout: 4-space indent, two spaces after the colon, \u0027-style escapes,
// and one-element lists written as bare objects (the second VM).
const fixture = JSON.parse(readFileSync(new URL('./fixtures/describe-ps51.json', import.meta.url), 'utf8')) as unknown

describe('describe: the host projection → VmDescriptor', () => {
  const parsed = DescribeSchema.parse(fixture)
  const [web, legacy] = parsed.VMs.map((vm) => toDescriptor(vm, parsed.Host))

  it('maps a generation 2 VM: UEFI, secure boot, boot order, SCSI disks, a differencing chain, guest OS from KVP', () => {
    expect(web).toMatchObject({
      id: '4f27bc34-0d01-4057-bc93-a4c556d61644',
      name: 'web01',
      powerState: 'on',
      host: 'HV01',
      cpus: 4,
      memoryMiB: 4096,
      firmware: 'uefi',
      secureBoot: true,
      os: { family: 'windows', distro: 'windows', version: '2022' },
    })
    // The firmware boots scsi0:1 first; the pass-through disk is not a disk this driver copies.
    expect(web!.disks.map((d) => [d.id, d.index, d.format, d.controller, d.virtualSize, d.thin])).toEqual([
      ['scsi0:1', 0, 'vhdx', 'scsi', 1073741824, true],
      ['scsi0:0', 1, 'vhdx', 'scsi', 10737418240, true],
    ])
    expect(web!.disks[0]!.allocatedSize).toBe(4194304 + 1076056064)
    expect(web!.nics).toEqual([
      {
        id: 'Microsoft:4F27BC34-0D01-4057-BC93-A4C556D61644\\5A0C1F2E-0000-4000-8000-00155D0A1B2C',
        mac: '00:15:5d:0a:1b:2c',
        network: 'vSwitch-Prod',
        ipAddresses: ['10.20.0.15', 'fe80::215:5dff:fe0a:1b2c'],
        model: 'hyperv',
      },
    ])
    expect((web!.extra as { hyperv: { notes: string } }).hyperv.notes).toBe("front-end <prod> & 'blue'")
  })

  it('maps a generation 1 VM written by 5.1 with one-element lists as bare objects', () => {
    expect(legacy).toMatchObject({
      id: '9b1f3e2a-7c6d-4e5f-8a9b-0c1d2e3f4a02',
      name: 'legacy01 é',
      powerState: 'off',
      firmware: 'bios',
      secureBoot: false,
    })
    expect(legacy!.os).toEqual({ family: 'other' })
    expect(legacy!.disks).toEqual([
      {
        id: 'ide0:0',
        index: 0,
        virtualSize: 4294967296,
        allocatedSize: 4294967808,
        format: 'vpc',
        controller: 'ide',
        thin: false,
        name: 'legacy01.vhd',
      },
    ])
    expect(legacy!.nics).toEqual([{ id: expect.any(String), mac: '00:15:5d:0a:1b:99', network: '', model: 'e1000' }])
  })

  it('preflight: pass-through disk and disabled checkpoints are errors; TPM and clustering are warnings', () => {
    const snap = { mode: 'snapshot' as const, powerOff: 'refuse' as const }
    expect(preflightFindings(web!, snap).map((f) => [f.severity, f.code])).toEqual([
      ['error', 'disk-passthrough-unsupported'],
      ['warning', 'vm-tpm'],
    ])
    expect(preflightFindings(legacy!, snap).map((f) => [f.severity, f.code])).toEqual([
      ['error', 'checkpoints-disabled'],
      ['warning', 'vm-clustered'],
    ])
    expect(preflightFindings(legacy!, { mode: 'cold', powerOff: 'shutdown' }).map((f) => f.code)).toEqual(['vm-clustered'])
  })

  it('a shape the driver does not know fails with the path of the odd field', () => {
    const broken = JSON.parse(JSON.stringify(fixture)) as { VMs: { State: unknown }[] }
    broken.VMs[0]!.State = 'Running'
    expect(() => DescribeSchema.parse(broken)).toThrow(/State/)
  })
})

describe('power states and guest OS', () => {
  it('maps VMState numbers', () => {
    expect([2, 3, 6, 9, 10, 4, 32783].map(powerState)).toEqual(['on', 'off', 'suspended', 'suspended', 'on', 'unknown', 'unknown'])
  })

  it('reads Linux distros from KVP OSName', () => {
    expect(guestOs({ OSName: 'Debian GNU/Linux 12 (bookworm)', OSVersion: '6.1.0-13-amd64' })).toEqual({
      family: 'linux',
      id: 'Debian GNU/Linux 12 (bookworm)',
      distro: 'debian',
      version: '12',
    })
    expect(guestOs({ OSName: 'Red Hat Enterprise Linux', OSMajorVersion: '9', OSMinorVersion: '3' })).toMatchObject({
      distro: 'rhel',
      version: '9.3',
    })
    expect(guestOs({ OSName: 'Ubuntu 22.04.3 LTS' })).toMatchObject({ distro: 'ubuntu', version: '22.04' })
    expect(guestOs(undefined)).toEqual({ family: 'other' })
  })
})
