import type { ExportOptions, Finding, VmDescriptor } from '@guts/sdk'

/** vSphere allows 32 snapshots in a chain; an export snapshot needs one more. */
export const MAX_SNAPSHOT_DEPTH = 31
/** Long chains make every read slower and consolidation risky; worth a warning. */
export const WARN_SNAPSHOT_DEPTH = 8

interface DiskExtra {
  id: string
  address?: string
  backingType?: string
  diskMode?: string
  compatibilityMode?: string
}

/**
 * What would make an export fail or lose data, from the descriptor alone (no calls): physical
 * RDMs (no VMDK to export, the LUN must be copied by other means), independent disks (left out of
 * snapshots and of change tracking), snapshot trees too deep for one more snapshot, and a
 * running VM in cold mode (refused, or powered off first as the plan says).
 */
export function preflightFindings(vm: VmDescriptor, options: ExportOptions): Finding[] {
  const findings: Finding[] = []
  const extra = vm.extra ?? {}
  const disks = (Array.isArray(extra.disks) ? extra.disks : []) as unknown as DiskExtra[]
  for (const d of disks) {
    const ref = `${vm.name} disk ${d.address ?? d.id}`
    const rdm = d.backingType?.startsWith('VirtualDiskRawDiskMapping')
    if (rdm && d.compatibilityMode === 'physicalMode') {
      findings.push({
        severity: 'error',
        code: 'disk-rdm-physical-unsupported',
        ref,
        message: `${ref} is a physical-mode RDM: vSphere cannot export it. Copy the LUN separately, or detach it before migrating.`,
      })
    } else if (rdm) {
      findings.push({
        severity: 'warning',
        code: 'disk-rdm-virtual',
        ref,
        message: `${ref} is a virtual-mode RDM: it is exported as a regular disk of the LUN's full size.`,
      })
    }
    if (d.diskMode?.startsWith('independent')) findings.push(...independentFindings(ref, d.diskMode, options))
  }
  const depth = typeof extra.snapshotDepth === 'number' ? extra.snapshotDepth : 0
  if (depth >= MAX_SNAPSHOT_DEPTH) {
    findings.push({
      severity: 'error',
      code: 'snapshot-tree-too-deep',
      ref: vm.name,
      message: `${vm.name} has a snapshot chain ${depth} deep; vSphere allows 32, so the export snapshot cannot be taken. Delete or consolidate snapshots first.`,
    })
  } else if (depth > WARN_SNAPSHOT_DEPTH) {
    findings.push({
      severity: 'warning',
      code: 'snapshot-tree-deep',
      ref: vm.name,
      message: `${vm.name} has a snapshot chain ${depth} deep: reads are slower and consolidation afterwards takes long. Consider deleting old snapshots.`,
    })
  }
  if (options.mode === 'cold' && vm.powerState !== 'off') findings.push(powerFinding(vm, options))
  if (vm.disks.some((d) => d.virtualSize <= 0)) {
    findings.push({
      severity: 'error',
      code: 'disk-size-unknown',
      ref: vm.name,
      message: `${vm.name} has a disk vSphere reports with no capacity.`,
    })
  }
  return findings
}

/**
 * Independent disks are not part of snapshots (a snapshot export cannot include them) and vSphere
 * keeps no change tracking for them (a warm migration cannot sync them). A cold export reads them.
 */
function independentFindings(ref: string, diskMode: string, options: ExportOptions): Finding[] {
  const out: Finding[] = []
  if (options.mode === 'snapshot') {
    out.push({
      severity: 'error',
      code: 'disk-independent',
      ref,
      message: `${ref} is independent (${diskMode}): snapshots leave it out, so a snapshot export cannot include it. Use mode: cold, or make the disk dependent.`,
    })
  } else {
    out.push({
      severity: 'warning',
      code: 'disk-independent',
      ref,
      message: `${ref} is independent (${diskMode}); a cold export includes it, but a nonpersistent disk loses its changes at power-off.`,
    })
  }
  if (options.changeTracking) {
    out.push({
      severity: 'error',
      code: 'disk-independent-untracked',
      ref,
      message: `${ref} is independent (${diskMode}): vSphere tracks no changed blocks on it, so a warm migration cannot sync it. Use a cold migration, or make the disk dependent.`,
    })
  }
  return out
}

/** Cold mode and a VM that is not off: refused, or the core powers it off before the export. */
function powerFinding(vm: VmDescriptor, options: ExportOptions): Finding {
  if (options.powerOff === 'refuse') {
    return {
      severity: 'error',
      code: 'vm-powered-on',
      ref: vm.name,
      message: `${vm.name} is ${vm.powerState === 'on' ? 'powered on' : vm.powerState} and the plan says powerOff: refuse. Shut it down before the cold export, or set powerOff: shutdown (guest shutdown, forced after a timeout) or powerOff: force.`,
    }
  }
  const how =
    options.powerOff === 'shutdown'
      ? 'shut down through the guest OS (forced off if it does not stop in time)'
      : 'powered off (forced, like pulling the plug)'
  return {
    severity: 'info',
    code: 'vm-will-power-off',
    ref: vm.name,
    message: `${vm.name} is ${vm.powerState === 'on' ? 'powered on' : vm.powerState}: it will be ${how} before the cold export, as the plan says (powerOff: ${options.powerOff}).`,
  }
}
