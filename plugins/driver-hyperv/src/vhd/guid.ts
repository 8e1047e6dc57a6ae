/**
 * GUIDs as VHDX and VHD store them: the Windows GUID structure, whose first three fields are
 * little-endian (MS-VHDX 1.3: "GUID ... as specified in [MS-DTYP] section 2.3.4.2"). Formatted
 * the way the VHDX parent locator writes them: lowercase, in braces.
 */
export function formatGuid(buf: Buffer, offset = 0): string {
  const hex = (from: number, to: number) => buf.subarray(offset + from, offset + to).toString('hex')
  const d1 = buf.readUInt32LE(offset).toString(16).padStart(8, '0')
  const d2 = buf
    .readUInt16LE(offset + 4)
    .toString(16)
    .padStart(4, '0')
  const d3 = buf
    .readUInt16LE(offset + 6)
    .toString(16)
    .padStart(4, '0')
  return `{${d1}-${d2}-${d3}-${hex(8, 10)}-${hex(10, 16)}}`
}

export function isZeroGuid(buf: Buffer, offset = 0): boolean {
  for (let i = offset; i < offset + 16; i++) if (buf[i] !== 0) return false
  return true
}

/** `{83ED0EC3-...}`, `83ed0ec3-...` and `{83ed0ec3-...}` all compare equal after this. */
export function normalizeGuid(text: string): string {
  const bare = text.trim().replace(/^\{/, '').replace(/\}$/, '').toLowerCase()
  return `{${bare}}`
}
