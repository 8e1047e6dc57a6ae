import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { isGutsError } from '@guts/sdk'
import {
  DescribeSchema,
  mergeRanges,
  preflightFindings,
  RCT_CHANGES,
  RCT_RELEASE,
  RCT_SYNC_BEGIN,
  RCT_SYNC_END,
  rctFailure,
  toDescriptor,
  win32Hex,
} from '../src/testing.js'

const MiB = 1024 * 1024
const q = {
  vm: { id: 'vm-1', name: 'web01' },
  file: 'C:\\d.vhdx',
  since: 'rctX:5bfde23b:ce75:4303:b54f:6c18394f105c:00000001',
  what: 'web01 disk scsi0:0',
  host: 'HV01',
}

describe('RCT: changed ranges from QueryChangesVirtualDisk', () => {
  it('sorts, merges adjacent and overlapping ranges and clips them to the disk', () => {
    const flat = [4 * MiB, MiB, 0, MiB, MiB, MiB, 5 * MiB - 10, 20, 9 * MiB, 4 * MiB]
    expect(mergeRanges(flat, 10 * MiB)).toEqual([
      { offset: 0, length: 2 * MiB },
      { offset: 4 * MiB, length: MiB + 10 },
      { offset: 9 * MiB, length: MiB },
    ])
  })

  it('drops empty and out-of-disk ranges and a dangling odd number', () => {
    expect(mergeRanges([0, 0, 12 * MiB, MiB, 3], 10 * MiB)).toEqual([])
  })
})

describe('RCT: VirtDisk statuses', () => {
  it('an id the host no longer knows is a change tracking reset (whole copy), with the Win32 name', () => {
    for (const status of [0xc03a0029, 0xc03a0030, 0xc03a002a, 0xc03a0022]) {
      const e = rctFailure(status, 'QueryChangesVirtualDisk', 'The specified change tracking identifier is not valid.', q)
      expect(e.details?.changeTrackingReset).toBe(true)
      expect(e.message).toContain(win32Hex(status))
      expect(e.message).toContain(q.since)
    }
    // PowerShell prints a uint32 status above 2^31 as the negative int64 it was cast from on some hosts.
    expect(rctFailure(0xc03a0029 - 2 ** 32, 'QueryChangesVirtualDisk', '', q).details?.changeTrackingReset).toBe(true)
  })

  it('other statuses are errors that say what failed, and never a reset', () => {
    const denied = rctFailure(5, 'OpenVirtualDisk', 'Access is denied.', q)
    expect(denied.code).toBe('GUTS_AUTH_FAILED')
    expect(denied.details?.changeTrackingReset).toBeUndefined()
    expect(rctFailure(2, 'OpenVirtualDisk', '', q).code).toBe('GUTS_NOT_FOUND')
    const other = rctFailure(32, 'OpenVirtualDisk', 'in use', q)
    expect(isGutsError(other) && other.code).toBe('GUTS_DRIVER_ERROR')
    expect(other.message).toContain('ERROR_SHARING_VIOLATION (0x00000020)')
  })
})

describe('RCT: scripts a real host runs', () => {
  const scripts = { RCT_SYNC_BEGIN, RCT_CHANGES, RCT_SYNC_END, RCT_RELEASE }
  it('never splice an input into a WQL filter or a command as text', () => {
    for (const [name, text] of Object.entries(scripts)) {
      for (const filter of text.match(/-Filter\s+"[^"]*"/g) ?? []) expect(filter, name).not.toMatch(/GutsArgs/)
      expect(text, name).not.toMatch(/Invoke-Expression|iex\s/)
    }
  })
  it('take a crash-consistent recovery snapshot and P/Invoke VirtDisk with a version-3 open', () => {
    expect(RCT_SYNC_BEGIN).toMatch(/SnapshotType = \[uint16\]32768/)
    expect(RCT_SYNC_BEGIN).toContain('<VALUE>2</VALUE>')
    expect(RCT_CHANGES).toContain('DllImport("virtdisk.dll"')
    expect(RCT_CHANGES).toMatch(/\$open\.Version = 3/)
  })
})

describe('RCT: preflight of a warm migration', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/describe-ps51.json', import.meta.url), 'utf8')) as unknown
  const parsed = DescribeSchema.parse(fixture)
  const [web, legacy] = parsed.VMs.map((vm) => toDescriptor(vm, parsed.Host))
  const warm = { mode: 'snapshot' as const, powerOff: 'refuse' as const, changeTracking: true }

  it('a VHD disk is refused (RCT tracks VHDX only), VHDX chains pass', () => {
    const codes = preflightFindings(legacy!, warm).map((f) => f.code)
    expect(codes).toContain('rct-vhd-format')
    expect(preflightFindings(web!, warm).map((f) => f.code)).not.toContain('rct-vhd-format')
  })

  it('a configuration version before 6.2 is refused with what to run', () => {
    const old = { ...web!, extra: { hyperv: { ...(web!.extra as { hyperv: object }).hyperv, version: '5.0' } } }
    const f = preflightFindings(old, warm).find((x) => x.code === 'rct-vm-version')
    expect(f?.severity).toBe('error')
    expect(f?.message).toContain('Update-VMVersion')
    expect(preflightFindings(web!, warm).map((x) => x.code)).not.toContain('rct-vm-version')
  })
})
