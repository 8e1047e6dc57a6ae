import { describe, expect, it } from 'vitest'
import { describeVm } from '../src/describe.js'
import type { Caller } from '../src/client/property-collector.js'
import { readResponse } from '../src/client/soap.js'
import { parseXml, type XmlArg, type XmlValue } from '../src/client/xml.js'
import { fixture } from './helpers.js'
import { guestOs } from '../src/os.js'
import { globMatcher, inFolder, folderPath, type Tree } from '../src/inventory.js'

const SC = {
  propertyCollector: { type: 'PropertyCollector', value: 'pc' },
  viewManager: { type: 'ViewManager', value: 'vm' },
  rootFolder: { type: 'Folder', value: 'group-d1' },
}

/** The fixture's VM with a few summary properties added, one port group, a small folder tree. */
function caller(): Caller & { calls: string[] } {
  const vm = parseXml(fixture('vm-config-vcenter.xml')) as any
  const objects = vm.Envelope.Body.RetrievePropertiesExResponse.returnval.objects
  objects.propSet.push(
    { name: 'name', val: { '@_xsi:type': 'xsd:string', '#text': 'app-01' } },
    { name: 'runtime.powerState', val: { '@_xsi:type': 'VirtualMachinePowerState', '#text': 'poweredOn' } },
    { name: 'parent', val: { '@_xsi:type': 'ManagedObjectReference', '@_type': 'Folder', '#text': 'group-v9' } },
    { name: 'config.hardware.numCPU', val: { '@_xsi:type': 'xsd:int', '#text': '4' } },
    { name: 'config.hardware.memoryMB', val: { '@_xsi:type': 'xsd:int', '#text': '8192' } },
    { name: 'config.firmware', val: { '@_xsi:type': 'xsd:string', '#text': 'efi' } },
    { name: 'config.bootOptions', val: { '@_xsi:type': 'VirtualMachineBootOptions', efiSecureBootEnabled: 'true' } },
    { name: 'config.guestId', val: { '@_xsi:type': 'xsd:string', '#text': 'rhel9_64Guest' } },
    { name: 'config.changeTrackingEnabled', val: { '@_xsi:type': 'xsd:boolean', '#text': 'true' } },
  )
  const calls: string[] = []
  const folders: Record<string, [string, string, string | undefined]> = {
    'group-d1': ['Folder', 'Datacenters', undefined],
    'datacenter-2': ['Datacenter', 'DC0', 'group-d1'],
    'group-v3': ['Folder', 'vm', 'datacenter-2'],
    'group-v9': ['Folder', 'app', 'group-v3'],
  }
  const page = (type: string): XmlValue => ({
    objects: Object.entries(folders)
      .filter(([, [t]]) => t === type)
      .map(([id, [t, name, parent]]) => ({
        obj: { '@_type': t, '#text': id },
        propSet: [
          { name: 'name', val: { '@_xsi:type': 'xsd:string', '#text': name } },
          ...(parent
            ? [
                {
                  name: 'parent',
                  val: {
                    '@_xsi:type': 'ManagedObjectReference',
                    '@_type': parent.startsWith('group') ? 'Folder' : 'Datacenter',
                    '#text': parent,
                  },
                },
              ]
            : []),
        ],
      })),
  })
  let viewType = ''
  return {
    serviceContent: SC,
    calls,
    async call(method: string, args: Record<string, XmlArg>) {
      calls.push(method)
      if (method === 'CreateContainerView') {
        viewType = String(args.type)
        return { '@_type': 'ContainerView', '#text': 'v' }
      }
      if (method === 'DestroyView') return undefined
      const spec = args.specSet as any
      if (spec.propSet.type === 'VirtualMachine') return vm.Envelope.Body.RetrievePropertiesExResponse.returnval
      if (spec.propSet.type === 'DistributedVirtualPortgroup') {
        return readResponse(
          'RetrievePropertiesEx',
          200,
          '<Envelope xmlns:xsi="x"><Body><RetrievePropertiesExResponse><returnval><objects><obj type="DistributedVirtualPortgroup">dvportgroup-11</obj><propSet><name>name</name><val xsi:type="xsd:string">pg-app</val></propSet><propSet><name>key</name><val xsi:type="xsd:string">dvportgroup-11</val></propSet></objects></returnval></RetrievePropertiesExResponse></Body></Envelope>',
        )
      }
      return viewType === 'HostSystem' ? {} : page(viewType)
    },
  }
}

describe('describeVm', () => {
  it('maps hardware, firmware, OS, disks in boot order, NICs with port group names and guest IPs', async () => {
    const vm = await describeVm(caller(), { id: 'vm-7', name: 'app-01' })
    expect(vm).toMatchObject({
      id: 'vm-7',
      name: 'app-01',
      powerState: 'on',
      folder: '/DC0/vm/app',
      cpus: 4,
      memoryMiB: 8192,
      firmware: 'uefi',
      secureBoot: true,
    })
    expect(vm.os).toEqual({ family: 'linux', id: 'rhel9_64Guest', distro: 'rhel', version: '9' })
    expect(vm.disks).toEqual([
      { id: '2000', index: 0, virtualSize: 17179869184, format: 'vmdk', controller: 'scsi', thin: true, name: 'Hard disk 1' },
      { id: '2001', index: 1, virtualSize: 1073741824, format: 'vmdk', controller: 'scsi', name: 'Hard disk 2' },
    ])
    expect(vm.nics).toEqual([
      { id: '4000', mac: '00:50:56:aa:bb:cc', network: 'pg-app', model: 'vmxnet3', ipAddresses: ['10.0.0.5', 'fe80::1'] },
      { id: '4001', mac: '00:50:56:00:00:01', network: 'VM Network', model: 'e1000' },
    ])
    expect(vm.extra).toMatchObject({ changeTracking: true, snapshots: 4, snapshotDepth: 3, guestId: 'rhel9_64Guest' })
    expect((vm.extra!.disks as any[])[1]).toEqual({
      id: '2001',
      address: 'scsi0:1',
      backingType: 'VirtualDiskRawDiskMappingVer1BackingInfo',
      fileName: '[ds1] app/app_1.vmdk',
      diskMode: 'independent_persistent',
      compatibilityMode: 'physicalMode',
    })
    expect((vm.extra!.disks as any[])[0].changeId).toBe('52 aa/12')
  })
})

describe('guestId → OS', () => {
  it.each([
    ['ubuntu64Guest', { family: 'linux', id: 'ubuntu64Guest', distro: 'ubuntu' }],
    ['debian12_64Guest', { family: 'linux', id: 'debian12_64Guest', distro: 'debian', version: '12' }],
    ['windows2019srv_64Guest', { family: 'windows', id: 'windows2019srv_64Guest', distro: 'windows', version: '2019' }],
    ['windows9_64Guest', { family: 'windows', id: 'windows9_64Guest', distro: 'windows', version: '10' }],
    ['other5xLinux64Guest', { family: 'linux', id: 'other5xLinux64Guest' }],
    ['otherGuest', { family: 'other', id: 'otherGuest' }],
    [undefined, { family: 'other' }],
  ])('%s', (id, want) => {
    expect(guestOs(id)).toEqual(want)
  })
})

describe('inventory filters', () => {
  it('globs whole names and matches folders by path segment', () => {
    expect(globMatcher('app-*')('app-01')).toBe(true)
    expect(globMatcher('app-*')('web-app-01')).toBe(false)
    expect(globMatcher('web-0?')('web-01')).toBe(true)
    expect(globMatcher('a.b')('axb')).toBe(false)
    expect(inFolder('/DC0/vm/app', '/DC0/vm/app')).toBe(true)
    expect(inFolder('/DC0/vm/app/x', '/DC0/vm/app/')).toBe(true)
    expect(inFolder('/DC0/vm/apple', '/DC0/vm/app')).toBe(false)
    expect(inFolder('/DC0/vm', 'DC0')).toBe(true)
  })

  it('folder paths start at the datacenter', () => {
    const tree: Tree = {
      hosts: new Map(),
      nodes: new Map([
        ['Folder:g1', { name: 'Datacenters', type: 'Folder' }],
        ['Datacenter:dc', { name: 'DC0', type: 'Datacenter', parent: 'Folder:g1' }],
        ['Folder:v', { name: 'vm', type: 'Folder', parent: 'Datacenter:dc' }],
      ]),
    }
    expect(folderPath(tree, { type: 'Folder', value: 'v' })).toBe('/DC0/vm')
    expect(folderPath(tree, undefined)).toBeUndefined()
  })
})
