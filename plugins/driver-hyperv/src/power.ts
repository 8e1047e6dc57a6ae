import { GutsError, type Logger, type PowerOffOptions, type VmRef } from '@guts/sdk'
import { z } from 'zod'
import { parseHostAnswer, VM_STATE } from './host-model.js'
import { stateName } from './describe.js'
import { POWER_OFF, POWER_ON } from './scripts/power.js'
import type { PowerShellRunner } from './transport/powershell.js'

const PowerAnswer = z.object({
  Before: z.number().int(),
  After: z.number().int(),
  Method: z.string().optional(),
  Why: z.string().optional(),
})

export interface PowerDeps {
  ps: PowerShellRunner
  host: string
  log: Logger
  signal?: AbortSignal
}

/** Powers a VM off, idempotently (an Off VM is left alone); see scripts/power.ts for the order of attempts. */
export async function powerOffVm(vm: VmRef, options: PowerOffOptions, d: PowerDeps): Promise<void> {
  const raw = await d.ps.run(
    {
      op: 'power-off',
      body: POWER_OFF,
      args: { id: vm.id, method: options.method, timeoutSeconds: Math.max(1, Math.round(options.timeoutMs / 1000)) },
    },
    d.signal,
  )
  const r = parseHostAnswer(PowerAnswer, raw, d.host, 'power-off')
  if (r.After !== VM_STATE.Off) {
    throw new GutsError('GUTS_DRIVER_ERROR', `${vm.name} is still ${stateName(r.After)} after Stop-VM on ${d.host}.`, { ref: vm.name })
  }
  if (r.Method === 'turnoff' && options.method === 'shutdown')
    d.log.warn(`${vm.name}: ${r.Why || 'the guest did not shut down'}; turned it off`, { vm: vm.id })
  else if (r.Method !== 'none') d.log.info(`${vm.name} is off (${r.Method === 'turnoff' ? 'turned off' : 'guest shutdown'})`, { vm: vm.id })
}

export async function powerOnVm(vm: VmRef, d: PowerDeps): Promise<void> {
  const r = parseHostAnswer(
    PowerAnswer,
    await d.ps.run({ op: 'power-on', body: POWER_ON, args: { id: vm.id } }, d.signal),
    d.host,
    'power-on',
  )
  if (r.Before !== VM_STATE.Running) d.log.info(`${vm.name} started again`, { vm: vm.id })
}
