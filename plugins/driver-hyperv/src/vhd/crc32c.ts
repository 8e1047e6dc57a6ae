/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region
 * tables and log entries (MS-VHDX 2.2.2, 2.2.3, 2.3). Table-driven: it only ever covers a few
 * 4 KiB and 64 KiB structures per open, so one table lookup per byte is plenty.
 */
const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/**
 * The checksum of a structure whose own checksum field (4 bytes at `fieldOffset`) counts as zero,
 * as MS-VHDX defines it for headers and region tables. Does not modify `data`.
 */
export function crc32cWithZeroedField(data: Buffer, fieldOffset: number): number {
  let crc = crc32c(data.subarray(0, fieldOffset))
  crc = crc32c(new Uint8Array(4), crc)
  return crc32c(data.subarray(fieldOffset + 4), crc)
}
