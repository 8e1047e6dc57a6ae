import { describe, expect, it } from 'vitest'
import { defineSourceDriver, isGutsError, type GutsError, type SourceDriver, type VmQuery } from '@guts/sdk'
import { fakeSourceDriver, type FakeVmSpec } from '@guts/sdk/testing'
import { createMigrationService, type VmLookup } from '../../src/core/service.js'
import { closeNames, nameQuery } from '../../src/core/service/vm-by-name.js'
import { registryOf } from '../helpers/fake-registry.js'

/**
 * `describeSourceVm` over the SDK's fake source (which, unlike the files driver, lets two VMs share
 * a name), with every `listVms` query recorded. The state store is never opened: describing is read-only.
 */
const VMS: FakeVmSpec[] = [
  { id: 'vm-1', name: 'web-1', diskSizes: [64 * 1024] },
  { id: 'vm-2', name: 'web-[1]', diskSizes: [64 * 1024, 32 * 1024] },
  { id: 'vm-3', name: 'web-*', diskSizes: [64 * 1024] },
  { id: 'vm-4', name: 'db', diskSizes: [64 * 1024] },
  { id: 'vm-5', name: 'db', diskSizes: [64 * 1024] },
  { id: 'vm-6', name: 'App-01', diskSizes: [64 * 1024] },
]

function setup() {
  const queries: VmQuery[] = []
  const source = defineSourceDriver({
    name: 'spy-src',
    description: 'fake source recording listVms queries',
    optionsSchema: { type: 'object', additionalProperties: true },
    create: (): SourceDriver => {
      const inner = fakeSourceDriver({ vms: VMS })
      return Object.assign(Object.create(inner) as SourceDriver, {
        listVms(this: SourceDriver, ...args: Parameters<SourceDriver['listVms']>) {
          queries.push(args[0])
          return inner.listVms.apply(this, args)
        },
      })
    },
  })
  const service = createMigrationService({
    registry: registryOf({ 'spy-src': source }, {}),
    store: () => Promise.reject(new Error('describing a VM must not open the state store')),
    config: { profiles: { sources: { lab: { driver: 'spy-src' } } } },
    workRoot: '/nonexistent/work',
  })
  const show = (vm: VmLookup) => service.describeSourceVm({ profile: 'lab' }, vm)
  return { show, queries }
}

async function failure(p: Promise<unknown>): Promise<GutsError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isGutsError(error)) throw new Error(`expected a GutsError, got ${String(error)}`)
  return error
}

describe('describeSourceVm', () => {
  it('by name: the descriptor of the VM with exactly that name, asked for by its name', async () => {
    const t = setup()
    const vm = await t.show({ name: 'web-1' })
    expect({ id: vm.id, name: vm.name, disks: vm.disks.length, nics: vm.nics.length }).toEqual({
      id: 'vm-1',
      name: 'web-1',
      disks: 1,
      nics: 1,
    })
    expect(t.queries).toEqual([{ name: 'web-1' }])
  })

  it('by id: straight to the driver, which answers GUTS_NOT_FOUND for an unknown one', async () => {
    const t = setup()
    expect((await t.show({ id: 'vm-2' })).name).toBe('web-[1]')
    expect(t.queries).toEqual([])
    expect((await failure(t.show({ id: 'vm-404' }))).code).toBe('GUTS_NOT_FOUND')
  })

  it('a name with glob characters matches only itself (the driver is asked for the literal prefix)', async () => {
    const t = setup()
    expect((await t.show({ name: 'web-[1]' })).id).toBe('vm-2')
    expect((await t.show({ name: 'web-*' })).id).toBe('vm-3')
    expect(t.queries).toEqual([{ name: 'web-*' }, { name: 'web-*' }])
    const none = await failure(t.show({ name: 'web-?' }))
    expect(none.code).toBe('GUTS_NOT_FOUND')
  })

  it('two VMs with the name: GUTS_CONFLICT naming both ids', async () => {
    const error = await failure(setup().show({ name: 'db' }))
    expect(error.code).toBe('GUTS_CONFLICT')
    expect(error.message).toBe('2 VMs on source profile "lab" are named "db" (ids vm-4, vm-5); name one by its id.')
    expect(error.details).toEqual({ vmName: 'db', ids: ['vm-4', 'vm-5'] })
  })

  it('an unknown name: GUTS_NOT_FOUND with close names (another case, or the same start)', async () => {
    const t = setup()
    const otherCase = await failure(t.show({ name: 'app-01' }))
    expect(otherCase.code).toBe('GUTS_NOT_FOUND')
    expect(otherCase.message).toBe('No VM named "app-01" on source profile "lab".')
    expect(otherCase.suggestions[0]).toBe('Close names: "App-01".')
    expect(t.queries).toEqual([{ name: 'app-01' }, {}])
    expect((await failure(t.show({ name: 'web-2' }))).details).toEqual({ vmName: 'web-2', closeNames: ['web-*', 'web-1', 'web-[1]'] })
    const far = await failure(t.show({ name: 'mail' }))
    expect(far.suggestions).toEqual(['List the VMs of the source to see their exact names (names are case-sensitive).'])
  })

  it('no source: GUTS_USAGE naming the profiles', async () => {
    const service = createMigrationService({
      registry: registryOf({}, {}),
      store: () => Promise.reject(new Error('unused')),
      config: { profiles: { sources: { lab: { driver: 'spy-src' } } } },
      workRoot: '/nonexistent/work',
    })
    const error = await failure(service.describeSourceVm(undefined, { name: 'web-1' }))
    expect({ code: error.code, profiles: error.details?.profiles }).toEqual({ code: 'GUTS_USAGE', profiles: ['lab'] })
  })
})

describe('nameQuery and closeNames', () => {
  it('asks for the name itself, or for its literal start when it has glob characters', () => {
    expect(nameQuery('web-01')).toEqual({ name: 'web-01' })
    expect(nameQuery('web-0?')).toEqual({ name: 'web-0*' })
    expect(nameQuery('a{b,c}')).toEqual({ name: 'a*' })
    expect(nameQuery('*web')).toEqual({})
  })

  it('suggests another case first, else the longest shared start of three letters or more', () => {
    expect(closeNames('WEB', ['web', 'Web', 'webx'])).toEqual(['Web', 'web'])
    expect(closeNames('web-03', ['web-01', 'web-02', 'wex'])).toEqual(['web-01', 'web-02'])
    expect(closeNames('wex-9', ['we', 'db'])).toEqual([])
    expect(closeNames('w', ['web', 'db'])).toEqual(['web'])
    expect(
      closeNames(
        'db-01',
        Array.from({ length: 9 }, (_, i) => `db-1${i}`),
      ),
    ).toHaveLength(5)
  })
})
