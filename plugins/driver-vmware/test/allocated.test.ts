import { describe, expect, it } from 'vitest'
import { allocatedSizes } from '../src/devices.js'
import { parseXml, type XmlValue } from '../src/client/xml.js'

// A vCenter VirtualMachineFileLayoutEx: disk 2000 is a base disk plus a snapshot delta, disk 2001 one thin file.
const LAYOUT = `<layoutEx xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="VirtualMachineFileLayoutEx">
  <file><key>0</key><name>[ds1] app/app.vmx</name><type>config</type><size>3456</size></file>
  <file><key>1</key><name>[ds1] app/app.vmdk</name><type>diskDescriptor</type><size>600</size></file>
  <file><key>2</key><name>[ds1] app/app-flat.vmdk</name><type>diskExtent</type><size>5368709120</size></file>
  <file><key>3</key><name>[ds1] app/app-000001.vmdk</name><type>diskDescriptor</type><size>400</size></file>
  <file><key>4</key><name>[ds1] app/app-000001-sesparse.vmdk</name><type>diskExtent</type><size>104857600</size></file>
  <file><key>5</key><name>[ds1] app/app_1-flat.vmdk</name><type>diskExtent</type><size>1073741824</size></file>
  <file><key>6</key><name>[ds1] app/app_2-flat.vmdk</name><type>diskExtent</type><size>0</size></file>
  <disk><key>2000</key><chain><fileKey>1</fileKey><fileKey>2</fileKey></chain><chain><fileKey>3</fileKey><fileKey>4</fileKey></chain></disk>
  <disk><key>2001</key><chain><fileKey>5</fileKey></chain></disk>
  <disk><key>2002</key><chain><fileKey>6</fileKey></chain></disk>
</layoutEx>`

describe('allocatedSizes (layoutEx)', () => {
  it('sums the extent files of each disk chain, leaves out sizes vCenter did not report', () => {
    const layout = (parseXml(LAYOUT) as { layoutEx: XmlValue }).layoutEx
    expect([...allocatedSizes(layout)]).toEqual([
      [2000, 5368709120 + 104857600],
      [2001, 1073741824],
    ])
  })

  it('nothing for a missing layout', () => {
    expect(allocatedSizes(undefined).size).toBe(0)
  })
})
