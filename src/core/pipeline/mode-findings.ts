import type { Finding, SourceCapabilities, VmDescriptor } from '@guts/sdk'
import type { VmJob } from './vm-job.js'

type ModeCapability = 'liveExport' | 'changedBlocks' | 'powerControl'

/** What each export mode needs from the source (cold needs power control only for a running VM). */
const MODE_NEEDS: Record<'cold' | 'snapshot' | 'warm', readonly ModeCapability[]> = {
  cold: [],
  snapshot: ['liveExport'],
  warm: ['liveExport', 'changedBlocks', 'powerControl'],
}

/** The capabilities `mode` needs that the source does not declare (`guts plan init` and preflight). */
export function missingCapabilities(
  mode: keyof typeof MODE_NEEDS,
  caps: Partial<Record<ModeCapability, boolean>> | undefined,
): ModeCapability[] {
  return MODE_NEEDS[mode].filter((c) => !caps?.[c])
}

/**
 * What the core itself can tell before any export: whether the source driver can do what the
 * plan's mode asks for this VM. Driver-specific checks (disk kinds, CBT support) are the driver's.
 */
export function modeFindings(job: VmJob, vm: VmDescriptor, caps: SourceCapabilities): Finding[] {
  const { mode, powerOff } = job.settings
  const ref = vm.name
  const findings: Finding[] = []
  const missing = missingCapabilities(mode, caps)
  if (mode === 'snapshot' && missing.length) {
    findings.push({
      severity: 'error',
      code: 'live-export-unsupported',
      ref,
      message: `${vm.name}: this source cannot export a running VM (mode: snapshot); use mode: cold.`,
    })
  }
  if (mode === 'warm' && (missing.includes('liveExport') || missing.includes('changedBlocks'))) {
    findings.push({
      severity: 'error',
      code: 'warm-unsupported',
      ref,
      message: `${vm.name}: this source has no changed-block tracking, so mode: warm is not possible; use mode: cold or snapshot.`,
    })
  }
  if (mode === 'warm' && missing.includes('powerControl')) {
    findings.push({
      severity: 'error',
      code: 'power-control-unsupported',
      ref,
      message: `${vm.name}: warm cutover powers the source VM off, which this source cannot do.`,
    })
  }
  if (mode === 'cold' && vm.powerState !== 'off' && (powerOff === 'refuse' || !caps.powerControl)) {
    const why = powerOff === 'refuse' ? 'the plan says powerOff: refuse' : 'this source cannot power VMs off'
    findings.push({
      severity: 'error',
      code: 'vm-powered-on',
      ref,
      message: `${vm.name} is ${vm.powerState} and ${why}: shut it down first, set powerOff: shutdown or force, or use mode: snapshot.`,
    })
  }
  return findings
}
