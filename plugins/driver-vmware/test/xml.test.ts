import { describe, expect, it } from 'vitest'
import { readResponse } from '../src/client/soap.js'
import { envelope, escapeXml, moref, parseXml, toXml, unwrap, XSI_TYPE } from '../src/client/xml.js'
import { readObjects } from '../src/client/property-collector.js'
import { fixture } from './helpers.js'

describe('vim25 envelope', () => {
  it('escapes text and attributes, so a password cannot break the XML', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;')
    const xml = envelope('Login', { _this: moref('SessionManager', 'SessionManager'), userName: 'root', password: 'p<&>"\'</password><x>' })
    expect(xml).toContain('<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>root</userName>')
    expect(xml).toContain('<password>p&lt;&amp;&gt;&quot;&apos;&lt;/password&gt;&lt;x&gt;</password>')
    // It parses back to the same password: nothing leaked into the structure.
    const back = parseXml(xml) as any
    expect(back.Envelope.Body.Login.password).toBe('p<&>"\'</password><x>')
  })

  it('keeps argument order, repeats arrays and types polymorphic arguments', () => {
    const xml = toXml('specSet', {
      propSet: { type: 'VirtualMachine', pathSet: ['name', 'parent'] },
      objectSet: {
        obj: moref('ContainerView', 'session[1]v'),
        skip: true,
        selectSet: { '@type': 'TraversalSpec', name: 'view', path: 'view', skip: false },
      },
    })
    expect(xml).toBe(
      '<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet>' +
        '<objectSet><obj type="ContainerView">session[1]v</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>view</name><path>view</path><skip>false</skip></selectSet></objectSet></specSet>',
    )
    expect(toXml('x', undefined)).toBe('')
  })
})

describe('response parsing', () => {
  it('reads xsi:type whatever the prefix, without mixing it up with a moref type', () => {
    const page1 = readObjects(readResponse('RetrievePropertiesEx', 200, fixture('retrieve-page1-vcsim.xml')))
    const page2 = readObjects(readResponse('ContinueRetrievePropertiesEx', 200, fixture('retrieve-page2-vcenter.xml')))
    expect(page1[0]).toEqual({
      obj: { type: 'VirtualMachine', value: 'vm-1' },
      props: {
        name: 'web & <db>',
        'runtime.host': { type: 'HostSystem', value: 'host-21' },
        'runtime.powerState': 'poweredOn',
        parent: { type: 'Folder', value: 'group-v3' },
      },
      missing: [],
    })
    // Same shapes from vCenter's xsi: spelling.
    expect(page2[0]!.props).toEqual({
      name: 'db-01',
      'runtime.host': { type: 'HostSystem', value: 'host-22' },
      'runtime.powerState': 'poweredOff',
      parent: { type: 'Folder', value: 'group-v3' },
    })
    expect(page2[1]!.missing).toEqual(['runtime.host'])
  })

  it('keeps data objects as trees with their type', () => {
    const [vm] = readObjects(readResponse('RetrievePropertiesEx', 200, fixture('vm-config-vcenter.xml')))
    const devices = vm!.props['config.hardware.device'] as any
    expect(devices[XSI_TYPE]).toBe('ArrayOfVirtualDevice')
    expect(devices.VirtualDevice[3][XSI_TYPE]).toBe('VirtualDisk')
    expect(devices.VirtualDevice[3].backing[XSI_TYPE]).toBe('VirtualDiskRawDiskMappingVer1BackingInfo')
    // 64-bit numbers stay strings: callers convert deliberately.
    expect(devices.VirtualDevice[4].capacityInBytes).toBe('17179869184')
  })

  it('unwraps empty typed leaves to an empty string', () => {
    const doc = parseXml('<val xmlns:XMLSchema-instance="x" XMLSchema-instance:type="xsd:string"></val>') as any
    expect(unwrap(doc.val)).toBe('')
  })

  it('decodes numeric character references (the simulator writes quotes as &#34;), and each entity once', () => {
    const doc = parseXml('<d>{&#34;marks&#34;:1} &#x27;a&#39; &amp;#34; &lt;b&gt; &amp;nbsp; &nbsp;</d>') as any
    expect(doc.d).toBe(`{"marks":1} 'a' &#34; <b> &nbsp; &nbsp;`)
  })

  it('says what came back when there is no SOAP body', () => {
    expect(() => readResponse('Login', 503, '<html>busy</html>')).toThrow(expect.objectContaining({ code: 'GUTS_UNREACHABLE' }))
    expect(() => readResponse('Login', 404, '404 page not found')).toThrow(expect.objectContaining({ code: 'GUTS_DRIVER_ERROR' }))
  })
})
