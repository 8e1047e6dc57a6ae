import { describe, expect, it } from 'vitest'
import { silentLogger, type Logger } from '@guts/sdk'
import { powerOffVm } from '../src/power.js'
import type { XmlArg, XmlValue } from '../src/client/xml.js'
import { fakeCaller, fault, mo, objects, thisOf } from './fake-caller.js'

const VM = { id: 'vm-7', name: 'app-01' }

/**
 * A VM whose power state is `states[i]` on the i-th look (the last one repeats), answering
 * ShutdownGuest and PowerOffVM_Task with `on` (which may throw a fault).
 */
function vmFake(states: string[], on: Partial<Record<'ShutdownGuest' | 'PowerOffVM_Task', () => void>> = {}) {
  let looks = 0
  return fakeCaller((method: string, args: Record<string, XmlArg>): XmlValue | undefined => {
    if (method === 'RetrievePropertiesEx') {
      const obj = (args.specSet as { objectSet: { obj: { type: string; value: string } }[] }).objectSet[0]!.obj
      if (obj.type === 'Task') return objects(obj, { 'info.state': 'success' })
      const state = states[Math.min(looks++, states.length - 1)]!
      return objects(obj, { 'runtime.powerState': state })
    }
    if (method === 'ShutdownGuest') {
      expect(thisOf(args)).toEqual({ type: 'VirtualMachine', value: 'vm-7' })
      on.ShutdownGuest?.()
      return undefined
    }
    if (method === 'PowerOffVM_Task') {
      on.PowerOffVM_Task?.()
      return mo('Task', 'task-1')
    }
    throw new Error(`unexpected ${method}`)
  })
}

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { ...silentLogger, warnings, warn: (msg: string) => void warnings.push(msg) }
}

const looks = (c: { methods: () => string[] }) => c.methods().filter((m) => m !== 'RetrievePropertiesEx')

describe('powerOff', () => {
  it('an already powered-off VM is left alone (idempotent)', async () => {
    for (const method of ['shutdown', 'force'] as const) {
      const c = vmFake(['poweredOff'])
      await powerOffVm(VM, { method, timeoutMs: 1000 }, { caller: c, log: silentLogger })
      expect(looks(c)).toEqual([])
    }
  })

  it('shutdown asks the guest and waits until the VM is off, without forcing', async () => {
    const c = vmFake(['poweredOn', 'poweredOn', 'poweredOn', 'poweredOff'])
    await powerOffVm(VM, { method: 'shutdown', timeoutMs: 5000 }, { caller: c, log: silentLogger, pollMs: 1 })
    expect(looks(c)).toEqual(['ShutdownGuest'])
  })

  it('shutdown forces the VM off once the timeout passed', async () => {
    const c = vmFake(['poweredOn'])
    const log = recordingLog()
    const started = Date.now()
    await powerOffVm(VM, { method: 'shutdown', timeoutMs: 40 }, { caller: c, log, pollMs: 5 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(35)
    expect(looks(c)).toEqual(['ShutdownGuest', 'PowerOffVM_Task'])
    expect(log.warnings.join('\n')).toMatch(/app-01 did not shut down within 0 s, powering it off/)
  })

  it('a guest that cannot shut down (no tools, not supported, busy) is forced off with a warning', async () => {
    for (const name of ['ToolsUnavailable', 'NotSupported', 'InvalidState']) {
      const c = vmFake(['poweredOn'], { ShutdownGuest: () => fault('ShutdownGuest', name) })
      const log = recordingLog()
      await powerOffVm(VM, { method: 'shutdown', timeoutMs: 60_000 }, { caller: c, log })
      expect(looks(c)).toEqual(['ShutdownGuest', 'PowerOffVM_Task'])
      expect(log.warnings[0]).toMatch(new RegExp(`app-01: the guest cannot shut down \\(${name}\\)`))
    }
  })

  it('a suspended VM is forced off even with shutdown (a guest shutdown needs a running guest)', async () => {
    const c = vmFake(['suspended'])
    await powerOffVm(VM, { method: 'shutdown', timeoutMs: 60_000 }, { caller: c, log: silentLogger })
    expect(looks(c)).toEqual(['PowerOffVM_Task'])
  })

  it('force pulls the plug right away', async () => {
    const c = vmFake(['poweredOn'])
    await powerOffVm(VM, { method: 'force', timeoutMs: 60_000 }, { caller: c, log: silentLogger })
    expect(looks(c)).toEqual(['PowerOffVM_Task'])
  })

  it('InvalidPowerState from a VM that went off meanwhile is success (a race, not an error)', async () => {
    const force = vmFake(['poweredOn', 'poweredOff'], { PowerOffVM_Task: () => fault('PowerOffVM_Task', 'InvalidPowerState') })
    await powerOffVm(VM, { method: 'force', timeoutMs: 1000 }, { caller: force, log: silentLogger })
    const shutdown = vmFake(['poweredOn', 'poweredOff'], { ShutdownGuest: () => fault('ShutdownGuest', 'InvalidPowerState') })
    await powerOffVm(VM, { method: 'shutdown', timeoutMs: 1000 }, { caller: shutdown, log: silentLogger })
    expect(looks(shutdown)).toEqual(['ShutdownGuest'])
  })

  it('other failures name the VM and keep the fault', async () => {
    const denied = vmFake(['poweredOn'], {
      ShutdownGuest: () => fault('ShutdownGuest', 'NoPermission', 'Permission to perform this operation was denied.'),
    })
    await expect(powerOffVm(VM, { method: 'shutdown', timeoutMs: 1000 }, { caller: denied, log: silentLogger })).rejects.toMatchObject({
      code: 'GUTS_AUTH_FAILED',
      ref: 'app-01',
      message: expect.stringMatching(/^Could not shut down app-01: .*denied/),
      details: { vmware: { fault: 'NoPermission' } },
    })
    const stuck = vmFake(['poweredOn'], { PowerOffVM_Task: () => fault('PowerOffVM_Task', 'InvalidPowerState') })
    await expect(powerOffVm(VM, { method: 'force', timeoutMs: 1000 }, { caller: stuck, log: silentLogger })).rejects.toMatchObject({
      code: 'GUTS_CONFLICT',
      message: expect.stringMatching(/^Could not power off app-01/),
    })
  })

  it('stops waiting for the guest when the signal fires', async () => {
    const ac = new AbortController()
    const c = vmFake(['poweredOn'], { ShutdownGuest: () => setTimeout(() => ac.abort(), 20) })
    await expect(
      powerOffVm(VM, { method: 'shutdown', timeoutMs: 60_000 }, { caller: c, log: silentLogger, signal: ac.signal, pollMs: 5 }),
    ).rejects.toMatchObject({ code: 'GUTS_ABORTED' })
    expect(looks(c)).toEqual(['ShutdownGuest'])
  })
})
