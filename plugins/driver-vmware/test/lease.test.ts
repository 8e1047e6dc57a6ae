import { describe, expect, it } from 'vitest'
import { leaseDisks, leaseKeyAddress, releaseLease } from '../src/export/lease.js'
import type { Caller } from '../src/client/property-collector.js'
import { GutsError } from '@guts/sdk'
import type { XmlArg, XmlObject, XmlValue } from '../src/client/xml.js'

const info = (urls: [key: string, url: string, disk: boolean][]): XmlObject => ({
  deviceUrl: urls.map(([key, url, disk]) => ({ key, url, disk: String(disk), sslThumbprint: 'AA:BB' })),
})

describe('NFC lease', () => {
  it('maps lease device keys to disk addresses', () => {
    expect(leaseKeyAddress('/vm-60/ParaVirtualSCSIController0:0')).toBe('scsi0:0')
    expect(leaseKeyAddress('/vm-7/VirtualLsiLogicController1:3')).toBe('scsi1:3')
    expect(leaseKeyAddress('/vm-7/VirtualIDEController1:0')).toBe('ide1:0')
    expect(leaseKeyAddress('/vm-7/VirtualAHCIController0:2')).toBe('sata0:2')
    expect(leaseKeyAddress('/vm-7/VirtualNVMEController0:1')).toBe('nvme0:1')
    expect(leaseKeyAddress('/vm-7/nvram')).toBeUndefined()
  })

  it("finds each disk's URL, replaces the * host, skips nvram", () => {
    const i = info([
      ['/vm-7/VirtualLsiLogicController0:1', 'https://*/nfc/52/disk-1.vmdk', true],
      ['/vm-7/VirtualLsiLogicController0:0', 'https://*:443/nfc/52/disk-0.vmdk', true],
      ['/vm-7/nvram', 'https://*/nfc/52/nvram', false],
    ])
    expect(
      leaseDisks(
        i,
        [
          { id: '2000', address: 'scsi0:0' },
          { id: '2001', address: 'scsi0:1' },
        ],
        'vc.example.com:8443',
      ),
    ).toEqual({
      '2000': { url: 'https://vc.example.com:443/nfc/52/disk-0.vmdk', thumbprint: 'AA:BB' },
      '2001': { url: 'https://vc.example.com/nfc/52/disk-1.vmdk', thumbprint: 'AA:BB' },
    })
  })

  it('says which disk has no URL', () => {
    const i = info([['/vm-7/VirtualLsiLogicController0:0', 'https://h/nfc/disk-0.vmdk', true]])
    expect(() =>
      leaseDisks(
        i,
        [
          { id: '2000', address: 'scsi0:0' },
          { id: '2001', address: 'scsi0:1' },
        ],
        'h',
      ),
    ).toThrow(/no URL for disk\(s\) scsi0:1/)
  })

  it('completes a ready lease, aborts on failure, and leaves finished or vanished leases alone', async () => {
    const run = async (state: string | Error, ok: boolean): Promise<string[]> => {
      const calls: string[] = []
      const caller: Caller = {
        serviceContent: {
          propertyCollector: { type: 'PropertyCollector', value: 'pc' },
          viewManager: { type: 'ViewManager', value: 'v' },
          rootFolder: { type: 'Folder', value: 'f' },
        },
        async call(method: string, _args: Record<string, XmlArg>): Promise<XmlValue | undefined> {
          calls.push(method)
          if (method !== 'RetrievePropertiesEx') return undefined
          if (state instanceof Error) throw state
          return {
            objects: {
              obj: { '@_type': 'HttpNfcLease', '#text': 'l-1' },
              propSet: { name: 'state', val: { '@_xsi:type': 'HttpNfcLeaseState', '#text': state } },
            },
          }
        },
      }
      await releaseLease(caller, { type: 'HttpNfcLease', value: 'l-1' }, ok)
      return calls
    }
    expect(await run('ready', true)).toEqual(['RetrievePropertiesEx', 'HttpNfcLeaseProgress', 'HttpNfcLeaseComplete'])
    expect(await run('ready', false)).toEqual(['RetrievePropertiesEx', 'HttpNfcLeaseAbort'])
    expect(await run('done', true)).toEqual(['RetrievePropertiesEx'])
    expect(await run('error', false)).toEqual(['RetrievePropertiesEx'])
    expect(await run(new GutsError('GUTS_NOT_FOUND', 'gone'), true)).toEqual(['RetrievePropertiesEx'])
  })
})
