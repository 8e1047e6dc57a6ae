import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  API_VERSION,
  GutsError,
  isGutsError,
  type DestinationDriver,
  type DestinationDriverModule,
  type DriverModule,
  type SourceDriver,
  type SourceDriverModule,
} from '@guts/sdk'
import { runtimeDestination, runtimeSource } from './runtime.js'

export type DriverRole = 'source' | 'destination'

/** A driver known by name; its code is imported only when a plan (or `drivers list`) needs it. */
export interface DriverEntry {
  name: string
  role: DriverRole
  /** The package that provides it (`guts` for built-ins). */
  plugin: string
  version: string
  builtin: boolean
  load(): Promise<unknown>
}

/** The part of an oclif Config the registry reads. */
export interface PluginLike {
  name: string
  version: string
  root: string
  pjson: { guts?: { drivers?: Record<string, { role?: string; module?: string }> } }
}

const BUILTIN: Omit<DriverEntry, 'version'>[] = [
  { name: 'files', role: 'source', plugin: 'guts', builtin: true, load: () => import('./files/index.js') },
  { name: 'local', role: 'destination', plugin: 'guts', builtin: true, load: () => import('./local/index.js') },
]

/**
 * Name → lazy driver loader, built from the built-in drivers and every installed oclif plugin whose
 * package.json declares `"guts": {"drivers": {"<name>": {"role": "source", "module": "./dist/index.js"}}}`.
 */
export class DriverRegistry {
  private readonly entries = new Map<string, DriverEntry>()
  private readonly loaded = new Map<string, Promise<DriverModule>>()

  constructor(entries: DriverEntry[]) {
    for (const e of entries) {
      // First one wins: built-ins cannot be shadowed by a plugin with the same driver name.
      if (!this.entries.has(e.name)) this.entries.set(e.name, e)
    }
  }

  /**
   * Driver plugins compiled into the single binary (src/binary.ts fills this), where no plugin
   * directory exists to discover them from. Under Node they come from oclif's plugin list instead.
   */
  static readonly bundled: DriverEntry[] = []

  static builtin(version = '0.0.0'): DriverRegistry {
    return new DriverRegistry(BUILTIN.map((e) => ({ ...e, version })))
  }

  /** Built-ins plus the drivers declared by installed/linked oclif plugins. */
  static fromPlugins(plugins: readonly PluginLike[], version: string): DriverRegistry {
    const entries: DriverEntry[] = [...BUILTIN.map((e) => ({ ...e, version })), ...DriverRegistry.bundled]
    for (const plugin of plugins) {
      for (const [name, decl] of Object.entries(plugin.pjson.guts?.drivers ?? {})) {
        if ((decl.role !== 'source' && decl.role !== 'destination') || !decl.module) continue
        const url = pathToFileURL(join(plugin.root, decl.module)).href
        entries.push({ name, role: decl.role, plugin: plugin.name, version: plugin.version, builtin: false, load: () => import(url) })
      }
    }
    return new DriverRegistry(entries)
  }

  list(): DriverEntry[] {
    return [...this.entries.values()]
  }

  find(name: string): DriverEntry | undefined {
    return this.entries.get(name)
  }

  /** A new source driver instance (options already validated), behind the runtime wrapper. */
  async createSource(name: string, options: Record<string, unknown>): Promise<SourceDriver> {
    const module = await this.load(name, 'source')
    const driver = await module.create(options)
    checkDeclared(module, driver.capabilities)
    return runtimeSource(driver)
  }

  /** A new destination driver instance (options already validated), behind the runtime wrapper. */
  async createDestination(name: string, options: Record<string, unknown>): Promise<DestinationDriver> {
    const module = await this.load(name, 'destination')
    const driver = await module.create(options)
    checkDeclared(module, driver.capabilities)
    return runtimeDestination(driver)
  }

  /** Imports the driver module once, checking its role and contract version. */
  load(name: string, role: 'source'): Promise<SourceDriverModule>
  load(name: string, role: 'destination'): Promise<DestinationDriverModule>
  load(name: string, role?: DriverRole): Promise<DriverModule>
  load(name: string, role?: DriverRole): Promise<DriverModule> {
    const entry = this.entries.get(name)
    if (!entry) {
      const known = this.list()
        .filter((e) => !role || e.role === role)
        .map((e) => e.name)
      return Promise.reject(
        new GutsError(
          'GUTS_DRIVER_NOT_FOUND',
          `No ${role ?? ''} driver named "${name}". Known: ${known.join(', ') || 'none'}.`.replace('  ', ' '),
          {
            suggestions: [
              'Run `guts drivers list` to see the installed drivers.',
              'Install a driver plugin with `guts plugins install <package>`.',
            ],
          },
        ),
      )
    }
    if (role && entry.role !== role) {
      return Promise.reject(
        new GutsError('GUTS_DRIVER_INCOMPATIBLE', `Driver "${name}" is a ${entry.role} driver and cannot be used as a ${role}.`),
      )
    }
    let p = this.loaded.get(name)
    if (!p) {
      p = importChecked(entry)
      this.loaded.set(name, p)
    }
    return p
  }
}

async function importChecked(entry: DriverEntry): Promise<DriverModule> {
  let mod: unknown
  try {
    mod = await entry.load()
  } catch (error) {
    if (isGutsError(error)) throw error
    throw new GutsError(
      'GUTS_DRIVER_NOT_FOUND',
      `Driver "${entry.name}" from ${entry.plugin} could not be loaded: ${(error as Error).message}`,
      {
        suggestions: [`Reinstall the plugin: guts plugins install ${entry.plugin}`],
        cause: error,
      },
    )
  }
  const candidate = ((mod as { default?: unknown }).default ?? mod) as Partial<DriverModule>
  if (typeof candidate?.create !== 'function' || candidate.name !== entry.name) {
    throw new GutsError(
      'GUTS_DRIVER_INCOMPATIBLE',
      `${entry.plugin} does not export a driver named "${entry.name}" (expected \`export default defineSourceDriver({...})\`).`,
    )
  }
  if (candidate.apiVersion !== API_VERSION) {
    throw new GutsError(
      'GUTS_DRIVER_INCOMPATIBLE',
      `Driver "${entry.name}" from ${entry.plugin}@${entry.version} speaks driver API ${String(candidate.apiVersion)}, this guts speaks ${API_VERSION}.`,
      {
        suggestions: [`Install a version of ${entry.plugin} built for driver API ${API_VERSION}.`],
      },
    )
  }
  if (candidate.role !== entry.role) {
    throw new GutsError(
      'GUTS_DRIVER_INCOMPATIBLE',
      `Driver "${entry.name}" is declared as ${entry.role} in ${entry.plugin}'s package.json but its module says ${String(candidate.role)}.`,
    )
  }
  return candidate as DriverModule
}

/** What `drivers list` shows must be what the instance does: a mismatch is a driver bug. */
function checkDeclared(module: DriverModule, actual: object): void {
  if (!module.capabilities) return
  for (const [key, value] of Object.entries(module.capabilities)) {
    if (JSON.stringify((actual as Record<string, unknown>)[key]) !== JSON.stringify(value)) {
      throw new GutsError(
        'GUTS_DRIVER_INCOMPATIBLE',
        `Driver "${module.name}" declares ${key}=${JSON.stringify(value)} but its instance has ${JSON.stringify((actual as Record<string, unknown>)[key])}.`,
      )
    }
  }
}
