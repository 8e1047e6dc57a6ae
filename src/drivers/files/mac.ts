import { createHash } from 'node:crypto'

/**
 * Normalises a MAC address to lower-case `aa:bb:cc:dd:ee:ff`; accepts `-`, `:` or no separators.
 * Returns undefined for anything else, so a garbled value is treated like a missing one.
 */
export function normalizeMac(value: string | undefined): string | undefined {
  if (!value) return undefined
  const hex = value.trim().replace(/[-:.]/g, '').toLowerCase()
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined
  return hex.match(/../g)!.join(':')
}

/**
 * A MAC for a NIC whose package carries none (OVF exports often omit them). It must be the same on
 * every run — a plan is described, checked and executed by separate processes — so it is derived
 * from the VM name and NIC index, never random. The first octet is locally administered, unicast
 * (x2), so it cannot clash with a vendor-assigned address.
 */
export function derivedMac(vmName: string, nicIndex: number): string {
  const digest = createHash('sha256').update(`guts-files:${vmName}:${nicIndex}`).digest()
  const bytes = [...digest.subarray(0, 6)]
  bytes[0] = (bytes[0]! & 0xfc) | 0x02
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')
}
