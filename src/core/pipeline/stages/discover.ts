import type { VmStage } from './stage.js'

/** Asks the source what the VM is (disks, NICs, firmware): the descriptor every later stage uses. */
export const discover: VmStage = {
  name: 'discover',
  done: (cp) => Boolean(cp.descriptor),
  async run(s) {
    await s.checkpoints.save({ descriptor: await s.drivers.source.describeVm(s.job.ref, s.ctx) }, { stage: 'discover' })
  },
}
