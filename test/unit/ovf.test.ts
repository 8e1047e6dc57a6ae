import { describe, expect, it } from 'vitest'
import { parseOvf } from '../../src/drivers/files/ovf.js'
import { allocationUnitBytes, toBytes } from '../../src/drivers/files/units.js'
import { derivedMac, normalizeMac } from '../../src/drivers/files/mac.js'
import { parseXml } from '../../src/drivers/files/xml.js'
import { sampleOvf } from '../fixtures/sample-ovf.js'

const NS =
  'xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf"'

/** An envelope with the given hardware items and sections, for the edge cases. */
function envelope(opts: {
  items?: string
  sections?: string
  disks?: string
  refs?: string
  system?: string
  hardwareExtra?: string
}): string {
  return `<?xml version="1.0"?>
<Envelope ${NS}>
  <References>${opts.refs ?? ''}</References>
  <DiskSection>${opts.disks ?? ''}</DiskSection>
  <VirtualSystem ovf:id="vm1">
    ${opts.system ?? '<Name>vm one</Name>'}
    ${opts.sections ?? ''}
    <VirtualHardwareSection>${opts.items ?? ''}${opts.hardwareExtra ?? ''}</VirtualHardwareSection>
  </VirtualSystem>
</Envelope>`
}

const item = (fields: Record<string, string>) =>
  `<Item>${Object.entries(fields)
    .map(([k, v]) => `<rasd:${k}>${v}</rasd:${k}>`)
    .join('')}</Item>`

describe('parseOvf', () => {
  it('reads the VMware-style sample descriptor', () => {
    const ovf = parseOvf(
      sampleOvf({
        name: 'web-01',
        cpus: 2,
        memoryMiB: 2048,
        nics: [
          { mac: '00:50:56:a1:00:01', network: 'VM Network' },
          { mac: '00:50:56:A1:00:02', network: 'Storage' },
        ],
        disks: [
          { file: 'web-01-disk1.vmdk', size: 1000, capacityMiB: 64 },
          { file: 'web-01-disk2.vmdk', size: 500, capacityMiB: 32 },
        ],
      }),
    )
    expect(ovf.name).toBe('web-01')
    expect(ovf.cpus).toBe(2)
    expect(ovf.memoryMiB).toBe(2048)
    expect(ovf.firmware).toBe('uefi')
    expect(ovf.secureBoot).toBe(false)
    expect(ovf.os).toEqual({ family: 'linux', id: 'debian11_64Guest', distro: 'debian' })
    expect(ovf.nics).toEqual([
      { network: 'VM Network', mac: '00:50:56:a1:00:01', model: 'vmxnet3' },
      { network: 'Storage', mac: '00:50:56:a1:00:02', model: 'vmxnet3' },
    ])
    expect(ovf.disks.map((d) => [d.diskId, d.file?.href, d.capacity, d.controller])).toEqual([
      ['vmdisk1', 'web-01-disk1.vmdk', 64 * 2 ** 20, 'scsi'],
      ['vmdisk2', 'web-01-disk2.vmdk', 32 * 2 ** 20, 'scsi'],
    ])
    expect(ovf.notes).toEqual([])
  })

  it('honours memory allocation units, defaulting to MiB', () => {
    const mem = (units: string | undefined, qty: string) =>
      parseOvf(envelope({ items: item({ ResourceType: '4', VirtualQuantity: qty, ...(units ? { AllocationUnits: units } : {}) }) }))
        .memoryMiB
    expect(mem('byte * 2^30', '4')).toBe(4096)
    expect(mem('byte*2^20', '512')).toBe(512)
    expect(mem('MegaBytes', '1024')).toBe(1024)
    expect(mem('GigaBytes', '2')).toBe(2048)
    expect(mem('byte', String(3 * 2 ** 30))).toBe(3072)
    expect(mem(undefined, '768')).toBe(768)
    const odd = parseOvf(envelope({ items: item({ ResourceType: '4', VirtualQuantity: '8', AllocationUnits: 'furlongs' }) }))
    expect(odd.memoryMiB).toBeUndefined()
    expect(odd.notes.join()).toMatch(/Memory/)
  })

  it('reads disk capacity units, controllers and hardware order', () => {
    const ovf = parseOvf(
      envelope({
        refs: '<File ovf:id="f1" ovf:href="a.vmdk"/><File ovf:id="f2" ovf:href="b.vmdk" ovf:compression="gzip"/><File ovf:id="f3" ovf:href="c.vhd"/>',
        disks: [
          '<Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="10" ovf:capacityAllocationUnits="byte * 2^30"/>',
          '<Disk ovf:diskId="d2" ovf:fileRef="f2" ovf:capacity="1048576"/>',
          '<Disk ovf:diskId="d3" ovf:fileRef="f3" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 10^9"/>',
          '<Disk ovf:diskId="blank" ovf:capacity="5" ovf:capacityAllocationUnits="GigaBytes"/>',
        ].join(''),
        items: [
          item({ InstanceID: '5', ResourceType: '20', ResourceSubType: 'vmware.sata.ahci' }),
          item({ InstanceID: '6', ResourceType: '5' }),
          item({ InstanceID: '7', ResourceType: '20', ResourceSubType: 'vmware.nvme.controller' }),
          item({ InstanceID: '10', ResourceType: '17', Parent: '6', HostResource: 'ovf:/disk/d2' }),
          item({ InstanceID: '11', ResourceType: '17', Parent: '5', HostResource: 'ovf:/disk/d1' }),
          item({ InstanceID: '12', ResourceType: '17', Parent: '7', HostResource: '/disk/d3' }),
          item({ InstanceID: '13', ResourceType: '17', Parent: '5', HostResource: 'ovf:/disk/nope' }),
        ].join(''),
      }),
    )
    expect(ovf.disks.map((d) => [d.diskId, d.capacity, d.controller, d.file?.compression])).toEqual([
      ['d2', 1048576, 'ide', 'gzip'],
      ['d1', 10 * 2 ** 30, 'sata', undefined],
      ['d3', 1e9, 'nvme', undefined],
      ['blank', 5 * 2 ** 30, undefined, undefined],
    ])
    expect(ovf.notes.join('\n')).toMatch(/ovf:\/disk\/nope/)
  })

  it('tolerates any namespace prefix, including none and OVF 2 item elements', () => {
    const xml = `<ns0:Envelope xmlns:ns0="http://schemas.dmtf.org/ovf/envelope/2" xmlns:r="urn:rasd" xmlns:e="urn:epasd" xmlns:s="urn:sasd" xmlns:v="http://www.vmware.com/schema/ovf">
      <ns0:References><ns0:File ns0:id="x" ns0:href="disk.vmdk"/></ns0:References>
      <ns0:DiskSection><ns0:Disk ns0:diskId="dd" ns0:fileRef="x" ns0:capacity="2" ns0:capacityAllocationUnits="byte * 2^20"/></ns0:DiskSection>
      <ns0:VirtualSystem ns0:id="two">
        <ns0:OperatingSystemSection ns0:id="103"><ns0:Description>Microsoft Windows Server 2008 R2 (64-bit)</ns0:Description></ns0:OperatingSystemSection>
        <ns0:VirtualHardwareSection>
          <ns0:Item><r:ResourceType>3</r:ResourceType><r:VirtualQuantity>8</r:VirtualQuantity></ns0:Item>
          <ns0:StorageItem><s:InstanceID>9</s:InstanceID><s:ResourceType>17</s:ResourceType><s:HostResource>ovf:/disk/dd</s:HostResource></ns0:StorageItem>
          <ns0:EthernetPortItem><e:ResourceType>10</e:ResourceType><e:Connection>LAN</e:Connection><e:Address>AA-BB-CC-DD-EE-0F</e:Address><e:ResourceSubType>E1000e</e:ResourceSubType></ns0:EthernetPortItem>
          <v:Config v:key="firmware" v:value="efi"/>
          <v:Config v:key="uefi.secureBoot.enabled" v:value="TRUE"/>
        </ns0:VirtualHardwareSection>
      </ns0:VirtualSystem>
    </ns0:Envelope>`
    const ovf = parseOvf(xml)
    expect(ovf.name).toBe('two')
    expect(ovf.cpus).toBe(8)
    expect(ovf.disks).toEqual([{ diskId: 'dd', file: { id: 'x', href: 'disk.vmdk' }, capacity: 2 * 2 ** 20 }])
    expect(ovf.nics).toEqual([{ network: 'LAN', mac: 'aa:bb:cc:dd:ee:0f', model: 'e1000e' }])
    expect(ovf.firmware).toBe('uefi')
    expect(ovf.secureBoot).toBe(true)
    expect(ovf.os.family).toBe('windows')
    expect(ovf.os.id).toBe('cim:103')
  })

  it('survives missing sections', () => {
    const ovf = parseOvf(`<Envelope ${NS}><VirtualSystem ovf:id="bare"/></Envelope>`)
    expect(ovf).toMatchObject({
      name: 'bare',
      firmware: 'bios',
      secureBoot: false,
      os: { family: 'other' },
      disks: [],
      nics: [],
      files: [],
    })
    expect(ovf.cpus).toBeUndefined()
    expect(ovf.memoryMiB).toBeUndefined()
    const noSystem = parseOvf(`<Envelope ${NS}><References/></Envelope>`)
    expect(noSystem.name).toBeUndefined()
  })

  it('keeps NICs without a MAC and ignores non-MAC addresses', () => {
    const ovf = parseOvf(
      envelope({ items: item({ ResourceType: '10', Connection: 'DMZ', Address: '0' }) + item({ ResourceType: '10', Connection: 'LAN' }) }),
    )
    expect(ovf.nics).toEqual([{ network: 'DMZ' }, { network: 'LAN' }])
  })

  it('classifies the guest OS from osType, description or CIM id', () => {
    const os = (section: string) => parseOvf(envelope({ sections: section })).os
    expect(os('<OperatingSystemSection ovf:id="1" vmw:osType="windows2019srv_64Guest"/>').family).toBe('windows')
    expect(os('<OperatingSystemSection ovf:id="80"/>')).toEqual({ family: 'linux', id: 'cim:80' })
    expect(os('<OperatingSystemSection ovf:id="1" vmw:osType="rhel8_64Guest"/>')).toMatchObject({ family: 'linux', distro: 'rhel' })
    expect(os('<OperatingSystemSection ovf:id="42" vmw:osType="freebsd12_64Guest"/>').family).toBe('other')
    expect(os('<OperatingSystemSection ovf:id="1" vmw:osType="darwin20_64Guest"/>').family).toBe('other')
    expect(os('<OperatingSystemSection ovf:id="1" vmw:osType="winNetStandardGuest"/>').family).toBe('windows')
  })

  it('refuses VirtualSystemCollections and non-OVF documents', () => {
    const two = `<Envelope ${NS}><VirtualSystemCollection><VirtualSystem ovf:id="a"/><VirtualSystem ovf:id="b"/></VirtualSystemCollection></Envelope>`
    expect(() => parseOvf(two)).toThrow(/2 VMs/)
    expect(() => parseOvf('<html><body/></html>')).toThrow(/not an OVF descriptor/)
    expect(() => parseOvf(`<Envelope ${NS}><VirtualSystem></Envelope>`)).toThrow(/not well-formed/)
  })
})

describe('xml', () => {
  it('handles comments, CDATA, entities, processing instructions and a DOCTYPE', () => {
    const root = parseXml(
      '\ufeff<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><!-- c --><a t=\'1 &amp; 2\' u="&#x41;&#66;"><b><![CDATA[<raw>]]> &lt;ok&gt;</b><c/></a>',
    )
    expect(root.attrs).toEqual({ t: '1 & 2', u: 'AB' })
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c'])
    expect(root.children[0]!.text).toBe('<raw> <ok>')
  })

  it('keeps a ">" inside a quoted attribute value', () => {
    expect(parseXml('<a x="1 > 0"/>').attrs.x).toBe('1 > 0')
  })
})

describe('allocation units', () => {
  it('understands programmatic and legacy units', () => {
    expect(allocationUnitBytes('byte * 2^20')).toBe(2 ** 20)
    expect(allocationUnitBytes('byte*10^3')).toBe(1000)
    expect(allocationUnitBytes('byte * 1024')).toBe(1024)
    expect(allocationUnitBytes('bytes')).toBe(1)
    expect(allocationUnitBytes('KiloBytes')).toBe(1024)
    expect(allocationUnitBytes('TB')).toBe(2 ** 40)
    expect(allocationUnitBytes('hertz * 10^6')).toBeUndefined()
    expect(toBytes('1.5', 'byte * 2^30', 1)).toBe(1.5 * 2 ** 30)
    expect(toBytes('-1', undefined, 1)).toBeUndefined()
  })
})

describe('MAC addresses', () => {
  it('normalises separators and case', () => {
    expect(normalizeMac('00-50-56-AB-CD-EF')).toBe('00:50:56:ab:cd:ef')
    expect(normalizeMac('005056abcdef')).toBe('00:50:56:ab:cd:ef')
    expect(normalizeMac('0')).toBeUndefined()
  })

  it('derives stable, locally administered unicast MACs', () => {
    const a = derivedMac('web-01', 0)
    expect(derivedMac('web-01', 0)).toBe(a)
    expect(derivedMac('web-01', 1)).not.toBe(a)
    expect(a).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    const first = parseInt(a.slice(0, 2), 16)
    expect(first & 0x02).toBe(0x02)
    expect(first & 0x01).toBe(0)
  })
})
