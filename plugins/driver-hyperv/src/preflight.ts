import type { ExportOptions, Finding, VmDescriptor } from '@guts/sdk'
import { CHECKPOINT_TYPE, CRITICAL_STATES, VHD_FORMAT } from './host-model.js'

interface DriveFacts {
  id: string
  path: string
  passThrough: boolean
  shared: boolean
  error?: string
  chain: { path: string; format?: number }[]
}

interface HypervFacts {
  version?: string
  checkpointType?: number
  tpm?: boolean
  clustered?: boolean
  drives?: DriveFacts[]
  checkpoints?: unknown[]
  state?: number
}

/**
 * What would make the export fail or surprise, from the descriptor alone (describe read the host
 * moments ago): disks that are not files this driver can read, checkpoints the VM may not take,
 * and what does not travel with the disks. Nothing is staged on the host, so no free space is needed there.
 */
export function preflightFindings(vm: VmDescriptor, options: ExportOptions): Finding[] {
  const hv = ((vm.extra as { hyperv?: HypervFacts } | undefined)?.hyperv ?? {}) as HypervFacts
  const out: Finding[] = []
  for (const d of hv.drives ?? []) {
    const ref = `${vm.name} disk ${d.id}`
    if (d.passThrough) {
      out.push({
        severity: 'error',
        code: 'disk-passthrough-unsupported',
        ref,
        message: `${vm.name} has a pass-through disk at ${d.id} (${d.path}): its bytes live on a physical disk of the host, not in a file this driver can read. Move it into a VHDX first (or detach it).`,
      })
    } else if (d.shared) {
      out.push({
        severity: 'error',
        code: 'disk-shared-unsupported',
        ref,
        message: `${vm.name} uses a shared virtual disk at ${d.id} (${d.path}, a VHD Set or shared VHDX for guest clustering): guts cannot copy a disk other VMs write to. Detach it or migrate the cluster's data another way.`,
      })
    } else if (d.error) {
      out.push({
        severity: 'error',
        code: 'disk-unreadable',
        ref,
        message: `The virtual disk of ${vm.name} at ${d.id} cannot be read on the host: ${d.error}`,
      })
    } else if (/^\\\\/.test(d.chain[0]?.path ?? d.path)) {
      out.push({
        severity: 'error',
        code: 'disk-unc-unsupported',
        ref,
        message: `${vm.name}'s disk ${d.id} is on an SMB share (${d.path}): read it from the file server, or move it to a local volume of the host.`,
      })
    }
  }
  if (options.mode === 'snapshot' && hv.checkpointType === CHECKPOINT_TYPE.Disabled) {
    out.push({
      severity: 'error',
      code: 'checkpoints-disabled',
      ref: vm.name,
      message: `${vm.name} has checkpoints disabled, and a live export needs one: set its checkpoint type to Production (Set-VM -CheckpointType Production) or use mode: cold.`,
    })
  }
  if (options.mode === 'snapshot' && hv.checkpointType === CHECKPOINT_TYPE.Standard && vm.powerState === 'on') {
    out.push({
      severity: 'warning',
      code: 'checkpoint-standard',
      ref: vm.name,
      message: `${vm.name} takes standard checkpoints: the copy is crash-consistent (no VSS/fsfreeze in the guest). Set-VM -CheckpointType Production makes it application-consistent.`,
    })
  }
  if (options.changeTracking) out.push(...warmFindings(vm, hv))
  if (hv.state !== undefined && hv.state >= CRITICAL_STATES.first && hv.state <= CRITICAL_STATES.last) {
    out.push({
      severity: 'error',
      code: 'vm-critical',
      ref: vm.name,
      message: `${vm.name} is in a critical state on the host (its storage is not reachable): fix the host first.`,
    })
  }
  if (hv.clustered) {
    out.push({
      severity: 'warning',
      code: 'vm-clustered',
      ref: vm.name,
      message: `${vm.name} is a clustered role: connect to the node that owns it now (a live migration by the cluster during the export moves its disks away), and remove the role from the cluster after cutover.`,
    })
  }
  if (hv.tpm) {
    out.push({
      severity: 'warning',
      code: 'vm-tpm',
      ref: vm.name,
      message: `${vm.name} has a virtual TPM: its keys stay on Hyper-V, so BitLocker (or other TPM-sealed secrets) will ask for the recovery key at the destination. Have it at hand, or suspend BitLocker first.`,
    })
  }
  return out
}

/**
 * Warm migration rides on Resilient Change Tracking: Windows Server 2016+, a VM of configuration
 * version 6.2 or later, VHDX disks (RCT does not track VHD files).
 */
function warmFindings(vm: VmDescriptor, hv: HypervFacts): Finding[] {
  const out: Finding[] = []
  const version = Number.parseFloat(hv.version ?? '')
  if (Number.isFinite(version) && version < 6.2) {
    out.push({
      severity: 'error',
      code: 'rct-vm-version',
      ref: vm.name,
      message: `${vm.name} has configuration version ${hv.version}: warm migration needs Resilient Change Tracking, which needs version 6.2 or later (Windows Server 2016). Run Update-VMVersion with the VM off, or use mode: snapshot.`,
    })
  }
  for (const d of hv.drives ?? []) {
    const file = d.chain[0]?.path ?? d.path
    if (d.passThrough || d.chain[0]?.format !== VHD_FORMAT.VHD) continue
    out.push({
      severity: 'error',
      code: 'rct-vhd-format',
      ref: `${vm.name} disk ${d.id}`,
      message: `${vm.name}'s disk ${d.id} is a VHD file (${file}): Resilient Change Tracking tracks VHDX only. Convert it (Convert-VHD, with the VM off) or use mode: snapshot.`,
    })
  }
  return out
}
