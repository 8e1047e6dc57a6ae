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
 * snapshots, so a snapshot export would miss them or read them inconsistently), and snapshot
 * trees too deep for one more snapshot.
 */
export function preflightFindings(vm: VmDescriptor, options: ExportOptions): Finding[] {
  const findings: Finding[] = []
  const extra = vm.extra ?? {}
  const disks = (Array.isArray(extra.disks) ? extra.disks : []) as unknown as DiskExtra[]
  for (const d of disks) {
    const ref = `${vm.name} disk ${d.address ?? d.id}`
    const rdm = d.backingType?.startsWith('VirtualDiskRawDiskMapping')
    if (rdm && d.compatibilityMode === 'physicalMode') {
      findings.push({ severity: 'error', code: 'disk-rdm-physical-unsupported', ref, message: `${ref} is a physical-mode RDM: vSphere cannot export it. Copy the LUN separately, or detach it before migrating.` })
    } else if (rdm) {
      findings.push({ severity: 'warning', code: 'disk-rdm-virtual', ref, message: `${ref} is a virtual-mode RDM: it is exported as a regular disk of the LUN's full size.` })
    }
    if (d.diskMode?.startsWith('independent')) {
      const severity = options.mode === 'snapshot' ? 'error' : 'warning'
      findings.push({
        severity,
        code: 'disk-independent',
        ref,
        message:
          options.mode === 'snapshot'
            ? `${ref} is independent (${d.diskMode}): snapshots leave it out, so a snapshot export cannot include it. Use mode: cold, or make the disk dependent.`
            : `${ref} is independent (${d.diskMode}); a cold export includes it, but a nonpersistent disk loses its changes at power-off.`,
      })
    }
  }
  const depth = typeof extra.snapshotDepth === 'number' ? extra.snapshotDepth : 0
  if (depth >= MAX_SNAPSHOT_DEPTH) {
    findings.push({ severity: 'error', code: 'snapshot-tree-too-deep', ref: vm.name, message: `${vm.name} has a snapshot chain ${depth} deep; vSphere allows 32, so the export snapshot cannot be taken. Delete or consolidate snapshots first.` })
  } else if (depth > WARN_SNAPSHOT_DEPTH) {
    findings.push({ severity: 'warning', code: 'snapshot-tree-deep', ref: vm.name, message: `${vm.name} has a snapshot chain ${depth} deep: reads are slower and consolidation afterwards takes long. Consider deleting old snapshots.` })
  }
  if (options.mode === 'cold' && options.powerOff === 'refuse' && vm.powerState === 'on') {
    findings.push({ severity: 'error', code: 'vm-powered-on', ref: vm.name, message: `${vm.name} is powered on and the plan says powerOff: refuse. Shut it down first, or use powerOff: shutdown.` })
  }
  if (vm.disks.some((d) => d.virtualSize <= 0)) {
    findings.push({ severity: 'error', code: 'disk-size-unknown', ref: vm.name, message: `${vm.name} has a disk vSphere reports with no capacity.` })
  }
  return findings
}
