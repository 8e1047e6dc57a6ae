import { constants } from 'node:fs'
import { access, stat, statfs } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Finding, TargetMapping, VmDescriptor } from '@guts/sdk'
import { MANIFEST } from './manifest.js'
import { ACCEPTED_FORMATS, checkVmName, targetFormat, type LocalOptions } from './options.js'

/** The directory itself if it exists, else its closest existing ancestor (where mkdir -p starts). */
export async function nearestExisting(path: string): Promise<string> {
  let p = path
  for (;;) {
    try {
      await stat(p)
      return p
    } catch {
      const parent = dirname(p)
      if (parent === p) return p
      p = parent
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`
}

/** Everything that would make the import fail or clobber something, without creating anything. */
export async function localFindings(
  directory: string,
  options: LocalOptions,
  vm: VmDescriptor,
  mapping: TargetMapping,
): Promise<Finding[]> {
  const findings: Finding[] = []
  const ref = mapping.name || vm.name
  const nameProblem = checkVmName(mapping.name)
  if (nameProblem) findings.push({ severity: 'error', code: 'invalid-name', message: nameProblem, ref })

  const format = targetFormat(options, mapping)
  if (!ACCEPTED_FORMATS.includes(format)) {
    findings.push({
      severity: 'error',
      code: 'format-not-accepted',
      message: `The local destination writes qcow2 or raw images, not ${format}; set diskFormat to qcow2 or raw.`,
      ref,
    })
  }

  const base = await nearestExisting(directory)
  const baseInfo = await stat(base).catch(() => undefined)
  if (!baseInfo?.isDirectory()) {
    findings.push({
      severity: 'error',
      code: 'directory-not-writable',
      message: `${base} is not a directory, so ${directory} cannot be created; point \`directory\` elsewhere.`,
      ref,
    })
    return findings
  }
  try {
    await access(base, constants.W_OK | constants.X_OK)
  } catch {
    findings.push({
      severity: 'error',
      code: 'directory-not-writable',
      message: `${base === directory ? directory : `${base} (where ${directory} would be created)`} is not writable by this user; fix its permissions or choose another \`directory\`.`,
      ref,
    })
  }

  if (!nameProblem && (await exists(join(directory, mapping.name, MANIFEST)))) {
    findings.push({
      severity: 'error',
      code: 'vm-exists',
      message: `${join(directory, mapping.name, MANIFEST)} exists: a previous migration wrote this VM. Move or delete that folder, or give the VM another name.`,
      ref,
    })
  }

  const needed = vm.disks.reduce((sum, d) => sum + d.virtualSize, 0)
  try {
    const fs = await statfs(base)
    const free = Number(fs.bavail) * Number(fs.bsize)
    // A warning only: qcow2 (and sparse raw) files take just the space the guest actually used.
    if (free < needed) {
      findings.push({
        severity: 'warning',
        code: 'low-disk-space',
        message: `${gib(free)} free under ${base}, while the disks are ${gib(needed)} in total; the copy fits only if the disks are mostly empty.`,
        ref,
      })
    }
  } catch {
    findings.push({ severity: 'warning', code: 'disk-space-unknown', message: `Could not read the free space under ${base}.`, ref })
  }

  for (const nic of vm.nics) {
    if (!mapping.networks.some((n) => n.from === nic.network)) {
      findings.push({
        severity: 'warning',
        code: 'network-not-mapped',
        message: `NIC ${nic.id} is on "${nic.network}", which no network mapping covers; vm.json records it without a target network.`,
        ref,
      })
    }
  }
  return findings
}
