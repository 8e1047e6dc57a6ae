import {
  GutsError,
  isGutsError,
  type DiskDescriptor,
  type Finding,
  type JsonObject,
  type NicDescriptor,
  type VmDescriptor,
} from '@guts/sdk'
import { probeDisk, type ProbedDisk } from './disk-probe.js'
import { derivedMac, normalizeMac } from './mac.js'
import type { LoadedVm, PackageDisk } from './package.js'

/** Defaults for facts neither the package nor the plan gives (loose disk images carry none). */
export const DEFAULTS = { cpus: 1, memoryMiB: 1024, firmware: 'bios', os: 'other' } as const

export interface DescribedVm {
  descriptor: VmDescriptor
  /** Probe result per disk id: how to read it, or why it cannot be read. */
  probes: Map<string, ProbedDisk | GutsError>
}

async function probeAll(vm: LoadedVm, signal?: AbortSignal): Promise<Map<string, ProbedDisk | GutsError>> {
  const probes = new Map<string, ProbedDisk | GutsError>()
  // Sequential: qemu-img is quick here and the machine may be busy transferring other VMs.
  for (const disk of vm.disks) {
    if (disk.blocker) {
      probes.set(disk.id, disk.blocker)
      continue
    }
    try {
      probes.set(disk.id, await probeDisk(disk.location, signal))
    } catch (error) {
      if (!isGutsError(error) || error.code === 'GUTS_ABORTED' || error.code === 'GUTS_TOOL_MISSING') throw error
      probes.set(disk.id, error as GutsError)
    }
  }
  return probes
}

/**
 * Builds the VmDescriptor. A disk that cannot be read does not stop the description when the OVF
 * gives its capacity (preflight then reports the problem as a finding); without a size to show,
 * the disk's error is thrown as is, since it already says what to fix.
 */
export async function describeLoaded(vm: LoadedVm, signal?: AbortSignal): Promise<DescribedVm> {
  const probes = await probeAll(vm, signal)
  const disks = vm.disks.map((d) => diskDescriptor(d, probes.get(d.id)!))
  const { entry, ovf } = vm
  const o = entry.overrides
  const defaulted: string[] = []
  const pick = <T>(key: string, ...values: (T | undefined)[]): T | undefined => {
    const v = values.find((x) => x !== undefined)
    if (v === undefined) defaulted.push(key)
    return v
  }
  const firmware = pick('firmware', o.firmware, ovf?.firmware) ?? DEFAULTS.firmware
  const cpus = pick('cpus', o.cpus, ovf?.cpus) ?? DEFAULTS.cpus
  const memoryMiB = pick('memoryMiB', o.memoryMiB, ovf?.memoryMiB) ?? DEFAULTS.memoryMiB
  let os: VmDescriptor['os']
  if (o.os) os = { family: o.os }
  else if (ovf) os = ovf.os
  else {
    defaulted.push('os')
    os = { family: DEFAULTS.os }
  }
  const nicSource: { mac?: string; network: string; model?: NicDescriptor['model'] }[] = o.nics ?? ovf?.nics ?? []
  const nics: NicDescriptor[] = nicSource.map((n, i) => {
    const given = normalizeMac(n.mac)
    return {
      id: `nic-${i}`,
      mac: given ?? derivedMac(entry.name, i),
      network: n.network,
      ...(n.model ? { model: n.model } : {}),
    }
  })
  const derivedMacs = nicSource.flatMap((n, i) => (normalizeMac(n.mac) ? [] : [`nic-${i}`]))
  const extra: JsonObject = {
    source: entry.kind,
    origin: entry.origin,
    ...(entry.kind !== 'disks' ? { package: entry.path } : {}),
    ...(ovf?.name ? { ovfName: ovf.name } : {}),
    ...(vm.manifest ? { manifest: vm.manifest } : {}),
    ...(defaulted.length ? { defaulted } : {}),
    ...(derivedMacs.length ? { derivedMacs } : {}),
    ...(vm.notes.length ? { notes: vm.notes } : {}),
  }
  const descriptor: VmDescriptor = {
    id: entry.name,
    name: entry.name,
    powerState: 'off', // files never run
    folder: vm.folder,
    cpus,
    memoryMiB,
    firmware,
    secureBoot: firmware === 'uefi' && (ovf?.secureBoot ?? false),
    os,
    disks,
    nics,
    extra,
  }
  return { descriptor, probes }
}

function diskDescriptor(d: PackageDisk, probe: ProbedDisk | GutsError): DiskDescriptor {
  const base = { id: d.id, index: d.index, name: d.name, ...(d.controller ? { controller: d.controller } : {}) }
  if (!isGutsError(probe)) {
    return {
      ...base,
      virtualSize: probe.virtualSize,
      format: probe.format,
      ...(probe.allocatedSize !== undefined ? { allocatedSize: probe.allocatedSize } : {}),
      thin: probe.format !== 'raw' && probe.subformat !== 'monolithicFlat',
    }
  }
  const format = d.formatHint ?? d.location.format
  if (d.capacity && format) return { ...base, virtualSize: d.capacity, format }
  throw probe
}

/** What would make the export fail, as findings: re-probes every disk, since files change. */
export async function filesFindings(vm: LoadedVm, described: VmDescriptor, signal?: AbortSignal): Promise<Finding[]> {
  const findings: Finding[] = []
  const probes = await probeAll(vm, signal)
  for (const disk of vm.disks) {
    const probe = probes.get(disk.id)!
    if (isGutsError(probe)) {
      const code =
        probe.code === 'GUTS_NOT_FOUND' ? 'disk-missing' : probe.code === 'GUTS_PREFLIGHT_FAILED' ? 'disk-unreadable' : 'disk-unsupported'
      findings.push({
        severity: 'error',
        code,
        message: [probe.message, ...probe.suggestions].join(' '),
        ref: `${vm.entry.name}/${disk.id}`,
      })
      continue
    }
    const known = described.disks.find((x) => x.id === disk.id)
    if (known && known.virtualSize !== probe.virtualSize) {
      findings.push({
        severity: 'error',
        code: 'disk-changed',
        message: `Disk ${disk.name} is now ${probe.virtualSize} bytes, not ${known.virtualSize} as described; describe the VM again.`,
        ref: `${vm.entry.name}/${disk.id}`,
      })
    }
  }
  if (vm.disks.length !== described.disks.length) {
    findings.push({
      severity: 'error',
      code: 'vm-changed',
      message: `The VM now has ${vm.disks.length} disk(s), not ${described.disks.length} as described; describe it again.`,
      ref: vm.entry.name,
    })
  }
  if (!vm.disks.length)
    findings.push({ severity: 'error', code: 'no-disks', message: `The VM ${vm.entry.name} has no disk file to copy.`, ref: vm.entry.name })
  for (const note of vm.notes) findings.push({ severity: 'warning', code: 'package-note', message: note, ref: vm.entry.name })
  const defaulted = described.extra?.defaulted
  if (Array.isArray(defaulted) && defaulted.length) {
    findings.push({
      severity: 'info',
      code: 'facts-defaulted',
      message: `Not given by the package or the plan, so defaults are used for: ${defaulted.join(', ')} (cpus ${DEFAULTS.cpus}, memoryMiB ${DEFAULTS.memoryMiB}, firmware ${DEFAULTS.firmware}, os ${DEFAULTS.os}). Set them under vms[] to be sure.`,
      ref: vm.entry.name,
    })
  }
  return findings
}
