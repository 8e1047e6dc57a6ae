import { readdirSync } from 'node:fs'
import {
  defineDestinationDriver,
  defineSourceDriver,
  GutsError,
  type DestinationDriver,
  type Finding,
  type PlannedVm,
  type SourceDriver,
  type UndoEntry,
} from '@guts/sdk'
import { fakeDestinationDriver, fakeSourceDriver, type FakeVmSpec } from '@guts/sdk/testing'
import { DriverRegistry } from '../../src/drivers/registry.js'

/** Knobs a test turns to make the fake drivers misbehave or to observe the engine. */
export interface FakeHooks {
  vms?: FakeVmSpec[]
  /** Throw from destination.boot for these VM names. */
  failBootFor?: string[]
  /** Called when a disk is opened at the source (to count concurrency, or to cancel mid-way). */
  onOpenDisk?: (vm: string, disk: string) => Promise<void> | void
  rollbacks: { vm: string; undo: number }[]
  /** Gives the destination `findLeftovers`, answering with this (records each query's marks). */
  findLeftovers?: (marks: Readonly<Record<string, string>>) => UndoEntry[]
  /** Gives the destination `preflightPlan`, answering with this. */
  preflightPlan?: (vms: readonly PlannedVm[]) => Finding[]
}

/** A registry with `fake-src` / `fake-dst`: the SDK's reference fakes, wrapped with the hooks above. */
/** A registry of already-built driver modules, by name: what tests hand the service instead of plugins. */
export function registryOf(sources: Record<string, unknown>, destinations: Record<string, unknown>): DriverRegistry {
  const entry = (name: string, role: 'source' | 'destination', module: unknown) => ({
    name,
    role,
    plugin: 'test',
    version: '0',
    builtin: false,
    load: async () => module,
  })
  return new DriverRegistry([
    ...Object.entries(sources).map(([name, m]) => entry(name, 'source', m)),
    ...Object.entries(destinations).map(([name, m]) => entry(name, 'destination', m)),
  ])
}

export function fakeRegistry(hooks: FakeHooks, destDir: string): DriverRegistry {
  const schema = { type: 'object', additionalProperties: true }
  const source = defineSourceDriver({
    name: 'fake-src',
    description: 'test source',
    optionsSchema: schema,
    create: (): SourceDriver => {
      const inner = fakeSourceDriver(hooks.vms ? { vms: hooks.vms } : {})
      return Object.assign(Object.create(inner) as SourceDriver, {
        async openDisk(this: SourceDriver, ...args: Parameters<SourceDriver['openDisk']>) {
          await hooks.onOpenDisk?.(args[0].vm.name, args[1])
          return inner.openDisk.apply(this, args)
        },
      })
    },
  })
  const destination = defineDestinationDriver({
    name: 'fake-dst',
    description: 'test destination',
    optionsSchema: schema,
    create: (): DestinationDriver => {
      const inner = fakeDestinationDriver({ dir: destDir })
      return Object.assign(Object.create(inner) as DestinationDriver, {
        async boot(this: DestinationDriver, ...args: Parameters<DestinationDriver['boot']>) {
          if (hooks.failBootFor?.includes(args[0].vm.name))
            throw new GutsError('GUTS_NOT_FOUND', `flavor x9.huge does not exist (injected for ${args[0].vm.name})`)
          return inner.boot.apply(this, args)
        },
        async rollback(this: DestinationDriver, ...args: Parameters<DestinationDriver['rollback']>) {
          hooks.rollbacks.push({ vm: args[0]?.vm.name ?? '?', undo: args[1].length })
          return inner.rollback.apply(this, args)
        },
        // Optional methods only when asked for, as a driver without them would look.
        ...(hooks.findLeftovers ? { findLeftovers: async (marks: Readonly<Record<string, string>>) => hooks.findLeftovers!(marks) } : {}),
        ...(hooks.preflightPlan ? { preflightPlan: async (vms: readonly PlannedVm[]) => hooks.preflightPlan!(vms) } : {}),
      })
    },
  })
  return registryOf({ 'fake-src': source }, { 'fake-dst': destination })
}

/** Every file left in a directory tree (to prove rollback left nothing). */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => d.name)
  } catch {
    return []
  }
}
