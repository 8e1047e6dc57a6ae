import type { Finding, SourceCapabilities, VmDescriptor } from '@guts/sdk'
import type { VmJob } from './vm-job.js'

/**
 * What the core itself can tell before any export: whether the source driver can do what the
 * plan's mode asks for this VM. Driver-specific checks (disk kinds, CBT support) are the driver's.
 */
export function modeFindings(job: VmJob, vm: VmDescriptor, caps: SourceCapabilities): Finding[] {
  const { mode, powerOff } = job.settings
  const ref = vm.name
  const findings: Finding[] = []
  if (mode === 'snapshot' && !caps.liveExport) {
    findings.push({ severity: 'error', code: 'live-export-unsupported', ref, message: `${vm.name}: this source cannot export a running VM (mode: snapshot); use mode: cold.` })
  }
  if (mode === 'warm' && !(caps.changedBlocks && caps.liveExport)) {
    findings.push({ severity: 'error', code: 'warm-unsupported', ref, message: `${vm.name}: this source has no changed-block tracking, so mode: warm is not possible; use mode: cold or snapshot.` })
  }
  if (mode === 'warm' && !caps.powerControl) {
    findings.push({ severity: 'error', code: 'power-control-unsupported', ref, message: `${vm.name}: warm cutover powers the source VM off, which this source cannot do.` })
  }
  if (mode === 'cold' && vm.powerState !== 'off' && (powerOff === 'refuse' || !caps.powerControl)) {
    const why = powerOff === 'refuse' ? 'the plan says powerOff: refuse' : 'this source cannot power VMs off'
    findings.push({ severity: 'error', code: 'vm-powered-on', ref, message: `${vm.name} is ${vm.powerState} and ${why}: shut it down first, set powerOff: shutdown or force, or use mode: snapshot.` })
  }
  return findings
}
