import { diskError } from './disk-error.js'
import { formatGuid, normalizeGuid } from './guid.js'
import type { ParentLocator } from './layer.js'
import { readStructure, type RandomAccessFile } from './random-access.js'
import type { VhdxRegion } from './vhdx-header.js'

/** MS-VHDX 2.6.2: the known metadata items. */
const FILE_PARAMETERS = '{caa16737-fa36-4d43-b3b6-33f0aa44e76b}'
const VIRTUAL_DISK_SIZE = '{2fa54224-cd1b-4876-b211-5dbed83bf4b8}'
const PAGE_83_DATA = '{beca12ab-b2e6-4523-93ef-c309e000c746}'
const LOGICAL_SECTOR_SIZE = '{8141bf1d-a96f-4709-ba47-f233a8faab5f}'
const PHYSICAL_SECTOR_SIZE = '{cda348c7-445d-4471-9cc9-e9885251c556}'
const PARENT_LOCATOR = '{a8d35f2d-b30b-454d-abf7-d3d84834ab0c}'
const KNOWN = new Set([FILE_PARAMETERS, VIRTUAL_DISK_SIZE, PAGE_83_DATA, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR])
/** MS-VHDX 2.6.2.6.3: the one parent locator type the spec defines. */
const VHDX_LOCATOR_TYPE = '{b04aefb7-d19e-4a81-b789-25b8e9445913}'

const TABLE_SIZE = 64 * 1024
const ENTRY_MAX = 2047
const MiB = 1024 * 1024

export interface VhdxMetadata {
  blockSize: number
  leaveBlockAllocated: boolean
  hasParent: boolean
  virtualSize: number
  logicalSectorSize: number
  physicalSectorSize: number
  /** Page 83 Data: the disk's SCSI identity, stable across the chain. */
  page83: string | undefined
  parentLocator: ParentLocator | undefined
}

interface Item {
  offset: number
  length: number
}

export async function readVhdxMetadata(file: RandomAccessFile, region: VhdxRegion, signal?: AbortSignal): Promise<VhdxMetadata> {
  const items = await readMetadataTable(file, region, signal)
  const read = async (id: string, what: string, minLength: number): Promise<Buffer | undefined> => {
    const item = items.get(id)
    if (!item) return undefined
    if (item.length < minLength || item.offset + item.length > region.length) {
      throw diskError(file, `the VHDX ${what} metadata item is malformed: the file is damaged`)
    }
    return readStructure(file, region.fileOffset + item.offset, item.length, `VHDX ${what} metadata`, signal)
  }
  const [params, size, page83, logical, physical, locator] = await Promise.all([
    read(FILE_PARAMETERS, 'File Parameters', 8),
    read(VIRTUAL_DISK_SIZE, 'Virtual Disk Size', 8),
    read(PAGE_83_DATA, 'Page 83 Data', 16),
    read(LOGICAL_SECTOR_SIZE, 'Logical Sector Size', 4),
    read(PHYSICAL_SECTOR_SIZE, 'Physical Sector Size', 4),
    read(PARENT_LOCATOR, 'Parent Locator', 20),
  ])
  // Page 83 Data and the physical sector size are required too, but reading needs neither.
  if (!params || !size || !logical) {
    throw diskError(
      file,
      'the VHDX lacks one of the metadata items File Parameters, Virtual Disk Size and Logical Sector Size: the file is damaged',
    )
  }
  const flags = params.readUInt32LE(4)
  const meta: VhdxMetadata = {
    blockSize: params.readUInt32LE(0),
    leaveBlockAllocated: (flags & 1) === 1,
    hasParent: (flags & 2) === 2,
    virtualSize: size.readUInt32LE(0) + size.readUInt32LE(4) * 2 ** 32,
    logicalSectorSize: logical.readUInt32LE(0),
    physicalSectorSize: physical ? physical.readUInt32LE(0) : logical.readUInt32LE(0),
    page83: page83 ? formatGuid(page83) : undefined,
    parentLocator: locator ? parseVhdxParentLocator(file, locator) : undefined,
  }
  validate(file, meta)
  return meta
}

/** MS-VHDX 2.6.1: the table at the start of the metadata region; unknown required items refuse the file. */
async function readMetadataTable(file: RandomAccessFile, region: VhdxRegion, signal?: AbortSignal): Promise<Map<string, Item>> {
  if (region.length < TABLE_SIZE) throw diskError(file, 'the VHDX metadata region is smaller than its table: the file is damaged')
  const table = await readStructure(file, region.fileOffset, TABLE_SIZE, 'VHDX metadata table', signal)
  if (table.toString('latin1', 0, 8) !== 'metadata')
    throw diskError(file, 'the VHDX metadata table has no "metadata" signature: the file is damaged')
  const count = table.readUInt16LE(10)
  if (count > ENTRY_MAX)
    throw diskError(file, `the VHDX metadata table claims ${count} entries (at most ${ENTRY_MAX}): the file is damaged`)
  const items = new Map<string, Item>()
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32
    const id = formatGuid(table, at)
    const flags = table.readUInt32LE(at + 24)
    const isRequired = (flags & 4) === 4
    if (!KNOWN.has(id) && isRequired) throw diskError(file, `the VHDX has a required metadata item ${id} this reader does not know`)
    items.set(id, { offset: table.readUInt32LE(at + 16), length: table.readUInt32LE(at + 20) })
  }
  return items
}

function validate(file: RandomAccessFile, m: VhdxMetadata): void {
  const bad = (what: string) => diskError(file, `the VHDX ${what}: the file is damaged`)
  // MS-VHDX 2.6.2.1, 2.6.2.4, 2.6.2.5: BlockSize a power of two from 1 MiB to 256 MiB; sectors of 512 or 4096 bytes.
  if (m.blockSize < MiB || m.blockSize > 256 * MiB || (m.blockSize & (m.blockSize - 1)) !== 0)
    throw bad(`block size ${m.blockSize} is not a power of two from 1 MiB to 256 MiB`)
  if (m.logicalSectorSize !== 512 && m.logicalSectorSize !== 4096)
    throw bad(`logical sector size ${m.logicalSectorSize} is neither 512 nor 4096`)
  if (m.physicalSectorSize !== 512 && m.physicalSectorSize !== 4096)
    throw bad(`physical sector size ${m.physicalSectorSize} is neither 512 nor 4096`)
  if (m.virtualSize % m.logicalSectorSize !== 0)
    throw bad(`virtual size ${m.virtualSize} is not a multiple of its ${m.logicalSectorSize}-byte sectors`)
  if (m.hasParent && !m.parentLocator) throw bad('is a differencing disk (HasParent) without a parent locator')
}

/** MS-VHDX 2.6.2.6: a 20-byte header, then 12-byte entries of key/value offsets into the item, UTF-16LE strings. */
export function parseVhdxParentLocator(file: RandomAccessFile, item: Buffer): ParentLocator {
  const type = formatGuid(item, 0)
  if (type !== VHDX_LOCATOR_TYPE)
    throw diskError(file, `the VHDX parent locator has type ${type}; only VHDX parents ({b04aefb7-…}) are supported`)
  const count = item.readUInt16LE(18)
  if (20 + count * 12 > item.length) throw diskError(file, 'the VHDX parent locator is truncated: the file is damaged')
  const text = (offset: number, length: number) => {
    if (offset + length > item.length) throw diskError(file, 'a VHDX parent locator entry points outside the locator: the file is damaged')
    return item.toString('utf16le', offset, offset + length)
  }
  const entries: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    const at = 20 + i * 12
    entries[text(item.readUInt32LE(at), item.readUInt16LE(at + 8))] = text(item.readUInt32LE(at + 4), item.readUInt16LE(at + 10))
  }
  const linkage = [entries.parent_linkage, entries.parent_linkage2].filter((g): g is string => !!g).map(normalizeGuid)
  if (!entries.parent_linkage) throw diskError(file, 'the VHDX parent locator has no parent_linkage entry: the file is damaged')
  // MS-VHDX 2.6.2.6.3: try relative_path, then volume_path, then absolute_win32_path.
  const kinds = [
    ['relative_path', 'relative'],
    ['volume_path', 'volume'],
    ['absolute_win32_path', 'absolute'],
  ] as const
  const paths = kinds.filter(([key]) => entries[key]).map(([key, kind]) => ({ kind, path: entries[key]! }))
  return { format: 'vhdx', linkage, paths, entries }
}
