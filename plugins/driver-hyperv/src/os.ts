import type { OsFamily } from '@guts/sdk'

export interface GuestOs {
  family: OsFamily
  id?: string
  distro?: string
  version?: string
}

// OSName as guests report it through KVP → os-release style distro ids. Longest first.
const LINUX: [RegExp, string][] = [
  [/red hat enterprise linux/i, 'rhel'],
  [/centos/i, 'centos'],
  [/rocky/i, 'rocky'],
  [/alma ?linux/i, 'almalinux'],
  [/oracle linux/i, 'ol'],
  [/suse linux enterprise/i, 'sles'],
  [/opensuse/i, 'opensuse'],
  [/ubuntu/i, 'ubuntu'],
  [/debian/i, 'debian'],
  [/fedora/i, 'fedora'],
  [/amazon linux/i, 'amzn'],
  [/linux/i, ''],
]

/**
 * The guest OS from the items its integration services publish through KVP (`OSName`, `OSVersion`,
 * `OSMajorVersion`, `OSPlatformId`: 2 is Windows NT; Linux's hv_kvp_daemon reports os-release's
 * name). Nothing reported (VM off, no integration services) is `other`: the destination then keeps
 * emulated devices that need no drivers.
 */
export function guestOs(kvp: Readonly<Record<string, string>> | undefined): GuestOs {
  const name = kvp?.OSName?.trim()
  if (!name) return { family: 'other' }
  if (/windows/i.test(name) || kvp?.OSPlatformId === '2') {
    const year = /\b(20\d\d)\b/.exec(name)?.[1]
    const client = /windows (\d+)/i.exec(name)?.[1]
    const version = year ?? client
    return { family: 'windows', id: name, distro: 'windows', ...(version ? { version } : {}) }
  }
  for (const [re, distro] of LINUX) {
    if (!re.test(name)) continue
    const version = /\b(\d+(?:\.\d+)?)\b/.exec(name)?.[1] ?? majorMinor(kvp)
    return { family: 'linux', id: name, ...(distro ? { distro } : {}), ...(version ? { version } : {}) }
  }
  return { family: 'other', id: name }
}

function majorMinor(kvp: Readonly<Record<string, string>> | undefined): string | undefined {
  const major = kvp?.OSMajorVersion
  if (!major || !/^\d+$/.test(major)) return undefined
  const minor = kvp?.OSMinorVersion
  return minor && /^\d+$/.test(minor) && minor !== '0' ? `${major}.${minor}` : major
}
