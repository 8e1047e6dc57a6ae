import { afterAll, describe, expect, it } from 'vitest'
import { defineSourceDriver, type SourceDriver } from '@guts/sdk'
import { createTestContext, fakeSourceDriver, FAKE_SOURCE_PASSWORD, type TestContext } from '@guts/sdk/testing'
import { DriverRegistry } from '../../src/drivers/registry.js'
import { runtimeSource } from '../../src/drivers/runtime.js'

const contexts: TestContext[] = []
const ctx = (): TestContext => {
  const c = createTestContext()
  contexts.push(c)
  return c
}
afterAll(() => Promise.all(contexts.map((c) => c.cleanup())))

/** A source whose describeVm throws a plain Error, as a careless driver would. */
function sloppy(): SourceDriver {
  const inner = fakeSourceDriver()
  return Object.assign(Object.create(inner) as SourceDriver, {
    describeVm: async () => {
      throw new TypeError('cannot read properties of undefined')
    },
  })
}

describe('driver runtime wrapper', () => {
  it('turns unknown errors into GUTS_DRIVER_ERROR naming the driver and the call', async () => {
    await expect(runtimeSource(sloppy()).describeVm({ id: 'x', name: 'x' }, ctx())).rejects.toMatchObject({
      code: 'GUTS_DRIVER_ERROR',
      message: 'The fake-source driver failed in describeVm: cannot read properties of undefined',
    })
  })

  it('refuses calls once the signal has fired, but still lets cleanup run', async () => {
    const cancelled = ctx()
    cancelled.controller.abort(new Error('Ctrl-C'))
    const driver = runtimeSource(fakeSourceDriver({ password: FAKE_SOURCE_PASSWORD }))
    await expect(driver.connect(cancelled)).rejects.toMatchObject({ code: 'GUTS_ABORTED' })
    await expect(driver.endExport({ vm: { id: 'a', name: 'a' }, mode: 'cold', data: {} }, 'aborted', cancelled)).resolves.toBeUndefined()
  })

  it('refuses optional calls without the capability', async () => {
    const driver = runtimeSource(fakeSourceDriver())
    expect(() => driver.changedExtents!({ vm: { id: 'a', name: 'a' }, mode: 'cold', data: {} }, 'disk-0', '*', ctx())).toThrow(
      /does not declare the changedBlocks capability/,
    )
    await expect(driver.powerOff!({ id: 'a', name: 'a' }, ctx())).rejects.toMatchObject({ code: 'GUTS_UNSUPPORTED' })
  })

  it('refuses a driver whose instance contradicts the capabilities its module declares', async () => {
    const module = defineSourceDriver({
      name: 'liar',
      description: '',
      optionsSchema: { type: 'object' },
      capabilities: { changedBlocks: true },
      create: () => fakeSourceDriver(),
    })
    const registry = new DriverRegistry([
      { name: 'liar', role: 'source', plugin: 'test', version: '0', builtin: false, load: async () => module },
    ])
    await expect(registry.createSource('liar', {})).rejects.toMatchObject({
      code: 'GUTS_DRIVER_INCOMPATIBLE',
      message: expect.stringMatching(/declares changedBlocks=true/),
    })
  })
})
