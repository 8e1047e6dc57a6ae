import type { OsFamily } from '@guts/sdk'

/** What a vSphere guestId says about the OS; the destination picks drivers and images from it. */
export interface GuestOs {
  family: OsFamily
  id?: string
  distro?: string
  version?: string
}

// guestId prefixes → distro id (lower-case, os-release style). Order matters: longest first.
const LINUX: [RegExp, string][] = [
  [/^ubuntu/i, 'ubuntu'],
  [/^debian(\d+)?/i, 'debian'],
  [/^rhel(\d+)?/i, 'rhel'],
  [/^centos(\d+)?/i, 'centos'],
  [/^oracleLinux(\d+)?/i, 'ol'],
  [/^rockylinux/i, 'rocky'],
  [/^almalinux/i, 'almalinux'],
  [/^fedora/i, 'fedora'],
  [/^sles(\d+)?/i, 'sles'],
  [/^opensuse/i, 'opensuse'],
  [/^amazonlinux(\d+)?/i, 'amzn'],
  [/^vmwarePhoton/i, 'photon'],
  [/^coreos/i, 'coreos'],
  [/^(?:asianux|mandrake|mandriva|turbolinux|genericLinux|other\d*xLinux|other\d*Linux|redhat|suse|nld|sjds|crxPod)/i, ''],
]

/**
 * vSphere guestIds (`ubuntu64Guest`, `rhel8_64Guest`, `windows2019srv_64Guest`, `windows9_64Guest`)
 * → family, distro and, where the id carries one, the version.
 */
export function guestOs(guestId: string | undefined): GuestOs {
  if (!guestId) return { family: 'other' }
  const id = guestId
  if (/^win/i.test(id)) return { family: 'windows', id, distro: 'windows', ...windowsVersion(id) }
  for (const [re, distro] of LINUX) {
    const m = re.exec(id)
    if (!m) continue
    const version = m[1]
    return { family: 'linux', id, ...(distro ? { distro } : {}), ...(version ? { version } : {}) }
  }
  return { family: 'other', id }
}

const WINDOWS: [RegExp, string][] = [
  [/^windows2022srv/i, '2022'],
  [/^windows2019srv/i, '2019'],
  [/^windows9Server/i, '2016'],
  [/^windows8Server/i, '2012'],
  [/^windows7Server/i, '2008r2'],
  [/^windows11/i, '11'],
  [/^windows9/i, '10'],
  [/^windows8/i, '8'],
  [/^windows7/i, '7'],
]

function windowsVersion(id: string): { version?: string } {
  const hit = WINDOWS.find(([re]) => re.test(id))
  return hit ? { version: hit[1] } : {}
}
