import { GutsError } from '@guts/sdk'
import { compareDisks } from '../vm-verify.js'
import { errorsOf, reportFindings, type VmStage } from './stage.js'
import { movingDrivers } from './transfer.js'

/** The destination's checks of the booted instance, plus the core's disk comparison when asked for. */
export const verify: VmStage = {
  name: 'verify',
  done: (cp) => Boolean(cp.verify),
  async run(s) {
    const cp = s.checkpoints.current
    const findings = [
      ...(await s.drivers.destination.verify(cp.importSession!, cp.instance!, s.ctx)),
      ...(s.verify ? await compareDisks(cp, movingDrivers(s), s.ctx) : []),
    ]
    reportFindings(s, findings)
    const errors = errorsOf(findings)
    if (errors.length)
      throw new GutsError('GUTS_VERIFY_FAILED', `${s.job.key}: verification failed: ${errors.map((e) => e.message).join('; ')}`)
    await s.checkpoints.save({ verify: findings }, { stage: 'verify' })
  },
}
