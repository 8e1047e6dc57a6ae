import type { VmStage } from './stage.js'

/** Boots the instance from the committed disks; a VM guts powered off gets its downtime recorded. */
export const boot: VmStage = {
  name: 'boot',
  done: (cp) => Boolean(cp.instance),
  async run(s) {
    await s.checkpoints.save({ instance: await s.drivers.destination.boot(s.checkpoints.current.importSession!, s.ctx) }, { stage: 'boot' })
    const { poweredOffAt, downtime } = s.checkpoints.current
    if (poweredOffAt && !downtime) {
      const runningAt = new Date().toISOString()
      const measured = { seconds: (Date.parse(runningAt) - Date.parse(poweredOffAt)) / 1000, poweredOffAt, runningAt }
      await s.checkpoints.save({ downtime: measured })
      s.emit({ type: 'vm.downtime', vm: s.job.key, ...measured })
    }
  },
}
