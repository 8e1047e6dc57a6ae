import { GutsError } from '@guts/sdk'
import { modeFindings } from '../mode-findings.js'
import { replicaSpaceFindings } from '../replica-space.js'
import { errorsOf, isWarm, reportFindings, type VmStage } from './stage.js'

/** The core's, the source's and the destination's checks of this VM; any error stops it here. */
export const preflight: VmStage = {
  name: 'preflight',
  done: (cp) => Boolean(cp.preflight),
  async run(s) {
    const cp = s.checkpoints.current
    const vm = cp.descriptor!
    const findings = [
      ...modeFindings(s.job, vm, s.drivers.source.capabilities),
      ...(isWarm(cp) ? await replicaSpaceFindings(vm, s.ctx.workDir) : []),
      ...(await s.drivers.source.preflight(vm, s.exportOptions, s.ctx)),
      ...(await s.drivers.destination.preflight(vm, s.mapping, s.ctx)),
    ]
    reportFindings(s, findings)
    const errors = errorsOf(findings)
    if (errors.length) {
      throw new GutsError(
        'GUTS_PREFLIGHT_FAILED',
        `${s.job.key}: preflight found ${errors.length} problem(s): ${errors.map((e) => e.message).join('; ')}`,
        {
          details: { findings: errors.map((e) => ({ ...e })) },
          ref: `vms[${s.job.planIndex}]`,
        },
      )
    }
    await s.checkpoints.save({ preflight: findings }, { stage: 'preflight' })
  },
}
