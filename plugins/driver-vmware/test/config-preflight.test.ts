import { describe, expect, it } from 'vitest'
import type { VmDescriptor } from '@guts/sdk'
import { parseUrl, resolveConfig } from '../src/client/config.js'
import { normalizeThumbprint } from '../src/client/tls.js'
import { preflightFindings } from '../src/preflight.js'

describe('options and govc variables', () => {
  it('reads GOVC_URL with credentials, and GOVC_USERNAME/PASSWORD win over them', () => {
    const c = resolveConfig({}, { GOVC_URL: 'https://root:p%40ss@vc.example.com/sdk', GOVC_INSECURE: '1' })
    expect(c.endpoint.href).toBe('https://vc.example.com/sdk')
    expect([c.username, c.password, c.tls.insecure]).toEqual(['root', 'p@ss', true])
    const d = resolveConfig(
      {},
      { GOVC_URL: 'https://root:old@vc.example.com', GOVC_USERNAME: 'admin', GOVC_PASSWORD: 'new', GOVC_THUMBPRINT: 'aa:bb' },
    )
    expect([d.endpoint.href, d.username, d.password, d.tls.thumbprint]).toEqual(['https://vc.example.com/sdk', 'admin', 'new', 'aa:bb'])
  })

  it('plan options win over the environment', () => {
    const c = resolveConfig(
      { url: 'esx1:8443', username: 'u', password: 'p', insecure: false, datacenter: 'DC1' },
      { GOVC_URL: 'other', GOVC_USERNAME: 'x', GOVC_PASSWORD: 'y', GOVC_INSECURE: 'true' },
    )
    expect([c.endpoint.href, c.username, c.password, c.tls.insecure, c.datacenter]).toEqual([
      'https://esx1:8443/sdk',
      'u',
      'p',
      undefined,
      'DC1',
    ])
  })

  it('says what is missing, never echoing a password', () => {
    expect(() => resolveConfig({}, {})).toThrow(/GOVC_URL/)
    expect(() => resolveConfig({ url: 'vc' }, {})).toThrow(/No vSphere username/)
    expect(() => resolveConfig({ url: 'vc', username: 'u' }, {})).toThrow(/No vSphere password/)
    expect(() => parseUrl('ftp://u:secret@vc')).toThrow(/must be https/)
    try {
      parseUrl('https://u:secret@[bad')
    } catch (error) {
      expect((error as Error).message).not.toContain('secret')
    }
  })

  it('normalizes thumbprints and rejects ones that are not SHA-1', () => {
    expect(normalizeThumbprint('2c11edd713877db57418b81c42c2561f0db95bb9')).toBe(
      '2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B9',
    )
    expect(() => normalizeThumbprint('AA:BB')).toThrow(/40 hex digits/)
  })
})

const vm = (extra: Record<string, unknown>, powerState: VmDescriptor['powerState'] = 'on'): VmDescriptor => ({
  id: 'vm-1',
  name: 'app',
  powerState,
  cpus: 1,
  memoryMiB: 512,
  firmware: 'bios',
  secureBoot: false,
  os: { family: 'linux' },
  disks: [{ id: '2000', index: 0, virtualSize: 1024, format: 'vmdk' }],
  nics: [],
  extra: extra as never,
})

describe('preflight', () => {
  it('physical RDMs block, virtual ones warn', () => {
    const f = preflightFindings(
      vm(
        {
          disks: [
            { id: '2001', address: 'scsi0:1', backingType: 'VirtualDiskRawDiskMappingVer1BackingInfo', compatibilityMode: 'physicalMode' },
            { id: '2002', address: 'scsi0:2', backingType: 'VirtualDiskRawDiskMappingVer1BackingInfo', compatibilityMode: 'virtualMode' },
          ],
        },
        'off',
      ),
      { mode: 'cold', powerOff: 'shutdown' },
    )
    expect(f.map((x) => [x.severity, x.code, x.ref])).toEqual([
      ['error', 'disk-rdm-physical-unsupported', 'app disk scsi0:1'],
      ['warning', 'disk-rdm-virtual', 'app disk scsi0:2'],
    ])
  })

  it('independent disks block a snapshot export and change tracking, and only warn for a cold one', () => {
    const extra = {
      disks: [{ id: '2000', address: 'scsi0:0', backingType: 'VirtualDiskFlatVer2BackingInfo', diskMode: 'independent_persistent' }],
    }
    expect(preflightFindings(vm(extra), { mode: 'snapshot', powerOff: 'refuse' }).map((x) => [x.severity, x.code])).toEqual([
      ['error', 'disk-independent'],
    ])
    expect(preflightFindings(vm(extra, 'off'), { mode: 'cold', powerOff: 'refuse' }).map((x) => [x.severity, x.code])).toEqual([
      ['warning', 'disk-independent'],
    ])
    expect(
      preflightFindings(vm(extra), { mode: 'snapshot', powerOff: 'refuse', changeTracking: true }).map((x) => [x.severity, x.code]),
    ).toEqual([
      ['error', 'disk-independent'],
      ['error', 'disk-independent-untracked'],
    ])
    const dependent = { disks: [{ id: '2000', address: 'scsi0:0', backingType: 'VirtualDiskFlatVer2BackingInfo', diskMode: 'persistent' }] }
    expect(preflightFindings(vm(dependent), { mode: 'snapshot', powerOff: 'refuse', changeTracking: true })).toEqual([])
  })

  it('deep snapshot trees', () => {
    expect(preflightFindings(vm({ snapshotDepth: 31 }), { mode: 'snapshot', powerOff: 'shutdown' }).map((x) => x.code)).toEqual([
      'snapshot-tree-too-deep',
    ])
    expect(
      preflightFindings(vm({ snapshotDepth: 12 }), { mode: 'snapshot', powerOff: 'shutdown' }).map((x) => [x.severity, x.code]),
    ).toEqual([['warning', 'snapshot-tree-deep']])
  })

  it('a running VM: snapshot mode is fine; cold mode refuses it, or says it will be powered off', () => {
    expect(preflightFindings(vm({}), { mode: 'snapshot', powerOff: 'refuse' })).toEqual([])
    const refused = preflightFindings(vm({ snapshotDepth: 2 }), { mode: 'cold', powerOff: 'refuse' })
    expect(refused.map((x) => [x.severity, x.code, x.ref])).toEqual([['error', 'vm-powered-on', 'app']])
    expect(refused[0]!.message).toMatch(/shut it down.*powerOff: shutdown.*powerOff: force/i)
    for (const powerOff of ['shutdown', 'force'] as const) {
      const f = preflightFindings(vm({}), { mode: 'cold', powerOff })
      expect(f.map((x) => [x.severity, x.code])).toEqual([['info', 'vm-will-power-off']])
      expect(f[0]!.message).toContain(`powerOff: ${powerOff}`)
    }
    expect(preflightFindings(vm({}, 'off'), { mode: 'cold', powerOff: 'refuse' })).toEqual([])
    // The findings the driver had before power control must be gone.
    const codes = ['snapshot', 'cold'].flatMap((mode) =>
      preflightFindings(vm({}), { mode: mode as 'cold', powerOff: 'shutdown' }).map((x) => x.code),
    )
    expect(codes).not.toContain('export-mode-unsupported')
    expect(codes).not.toContain('vm-not-powered-off')
  })
})
