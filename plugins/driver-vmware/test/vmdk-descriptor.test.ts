import { describe, expect, it } from 'vitest'
import { isRawDescriptor, mapRange, parseVmdkDescriptor } from '../src/export/vmdk-descriptor.js'

/** What vcsimx writes next to a frozen snapshot disk, and ESXi for a thin base disk. */
const VMFS = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=0000002a
parentCID=ffffffff
createType="vmfs"

# Extent description
RW 32768 VMFS "disk1-snapshot-84-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.thinProvisioned = "1"
`

/** An ESXi 6.5+ snapshot delta (SEsparse): its data needs the parent disk too. */
const SESPARSE = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=d7bd4a4b
parentCID=fb1f0d6c
createType="seSparse"
parentFileNameHint="app.vmdk"
# Extent description
RW 83886080 SESPARSE "app-000001-sesparse.vmdk"

# The Disk Data Base
#DDB
ddb.grain = "8"
`

/** Workstation-style split flat disk, with an extent offset on the second line. */
const SPLIT = `# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="twoGbMaxExtentFlat"
RW 8 FLAT "split-f001.vmdk" 0
RDONLY 8 FLAT "split-f002.vmdk" 2
`

describe('VMDK descriptor', () => {
  it('reads extents, sizes in bytes, and the parent', () => {
    expect(parseVmdkDescriptor(VMFS)).toEqual({
      createType: 'vmfs',
      hasParent: false,
      extents: [{ access: 'RW', size: 16 * 1024 * 1024, type: 'VMFS', file: 'disk1-snapshot-84-flat.vmdk', fileOffset: 0 }],
    })
    expect(parseVmdkDescriptor(SESPARSE)).toMatchObject({
      createType: 'seSparse',
      hasParent: true,
      extents: [{ type: 'SESPARSE', file: 'app-000001-sesparse.vmdk', size: 83886080 * 512 }],
    })
    expect(parseVmdkDescriptor(SPLIT.replace(/\n/g, '\r\n'))!.extents).toEqual([
      { access: 'RW', size: 4096, type: 'FLAT', file: 'split-f001.vmdk', fileOffset: 0 },
      { access: 'RDONLY', size: 4096, type: 'FLAT', file: 'split-f002.vmdk', fileOffset: 1024 },
    ])
  })

  it('only flat extents without a parent are raw (random access)', () => {
    expect(isRawDescriptor(parseVmdkDescriptor(VMFS))).toBe(true)
    expect(isRawDescriptor(parseVmdkDescriptor(SPLIT))).toBe(true)
    expect(isRawDescriptor(parseVmdkDescriptor(SESPARSE))).toBe(false)
    expect(isRawDescriptor(parseVmdkDescriptor(VMFS.replace('VMFS "', 'VMFSSPARSE "')))).toBe(false)
    expect(
      isRawDescriptor(
        parseVmdkDescriptor(VMFS.replace('RW 32768 VMFS "disk1-snapshot-84-flat.vmdk"', 'RW 32768 VMFSRDM "disk1-rdm.vmdk"')),
      ),
    ).toBe(false)
    expect(isRawDescriptor(parseVmdkDescriptor(VMFS.replace('parentCID=ffffffff', 'parentCID=1234abcd')))).toBe(false)
    expect(isRawDescriptor(parseVmdkDescriptor(VMFS.replace(/^RW .*$/m, '')))).toBe(false)
  })

  it('a binary sparse VMDK (embedded descriptor) is not parsed', () => {
    expect(parseVmdkDescriptor('KDMV\u0001\u0000\u0000\u0000…')).toBeUndefined()
    expect(parseVmdkDescriptor('COWD\u0001…')).toBeUndefined()
    expect(isRawDescriptor(undefined)).toBe(false)
  })

  it('maps a disk range onto extent files, across extents and with extent offsets', () => {
    const d = parseVmdkDescriptor(SPLIT)!
    expect(mapRange(d, 0, 4096)).toEqual([{ file: 'split-f001.vmdk', offset: 0, length: 4096 }])
    expect(mapRange(d, 4000, 200)).toEqual([
      { file: 'split-f001.vmdk', offset: 4000, length: 96 },
      { file: 'split-f002.vmdk', offset: 1024, length: 104 },
    ])
    expect(mapRange(d, 5000, 0)).toEqual([])
    expect(() => mapRange(d, 8000, 200)).toThrow(RangeError)
  })
})
