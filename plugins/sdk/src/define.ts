import { GutsError } from './errors.js'
import type { DestinationCapabilities, DestinationDriver } from './destination.js'
import type { SourceCapabilities, SourceDriver } from './source.js'
import type { SetupHints } from './setup.js'

/** The contract version this SDK speaks. The core refuses drivers built for another. */
export const API_VERSION = 1 as const

/** A JSON Schema (draft 2020-12 subset: type, properties, required, additionalProperties, enum,
 * items, minimum, maximum, minLength, pattern, default, description) for a driver's plan options. */
export type JsonSchema = { [key: string]: unknown }

export const DEFAULT_SOURCE_CAPABILITIES: SourceCapabilities = Object.freeze({
  liveExport: false,
  changedBlocks: false,
  powerControl: false,
  diskAccess: Object.freeze(['stream'] as const),
})

export const DEFAULT_DESTINATION_CAPABILITIES: DestinationCapabilities = Object.freeze({
  diskTargets: Object.freeze(['image'] as const),
  acceptsFormats: Object.freeze(['qcow2', 'raw'] as const),
  firmware: Object.freeze(['bios', 'uefi'] as const),
  incremental: false,
})

interface DriverModuleBase<Options> {
  /** Lower-case, `[a-z][a-z0-9-]*`: the `driver:` value in plans. */
  name: string
  apiVersion: typeof API_VERSION
  description: string
  /** Validated by the core (guts plan validate) before any connection is made. */
  optionsSchema: JsonSchema
  /** Option keys whose values are secrets: never logged, stored or echoed. */
  secretOptions?: readonly string[]
  /** How plan wizards ask for the options: which first, which the environment supplies, choices. */
  setup?: SetupHints
  /** Fresh, unconnected instance; options were validated against optionsSchema. */
  create(options: Options): Promise<unknown> | unknown
}

export interface SourceDriverModule<Options = Record<string, unknown>> extends DriverModuleBase<Options> {
  role: 'source'
  /** Declared up front so `guts drivers list` can show them without connecting; instances must match. */
  capabilities?: Partial<SourceCapabilities>
  create(options: Options): Promise<SourceDriver> | SourceDriver
}

export interface DestinationDriverModule<Options = Record<string, unknown>> extends DriverModuleBase<Options> {
  role: 'destination'
  /** Declared up front so `guts drivers list` can show them without connecting; instances must match. */
  capabilities?: Partial<DestinationCapabilities>
  create(options: Options): Promise<DestinationDriver> | DestinationDriver
}

export type DriverModule = SourceDriverModule<any> | DestinationDriverModule<any>

const NAME = /^[a-z][a-z0-9-]*$/

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new GutsError('GUTS_DRIVER_INCOMPATIBLE', `Driver name "${name}" is invalid: use lower-case letters, digits and dashes.`)
  }
}

/** Partial capabilities are completed with the defaults and frozen, so adding a flag never breaks a driver. */
export function sourceCapabilities(partial: Partial<SourceCapabilities> = {}): SourceCapabilities {
  return Object.freeze({
    ...DEFAULT_SOURCE_CAPABILITIES,
    ...partial,
    diskAccess: Object.freeze([...(partial.diskAccess ?? DEFAULT_SOURCE_CAPABILITIES.diskAccess)]),
  })
}

export function destinationCapabilities(partial: Partial<DestinationCapabilities> = {}): DestinationCapabilities {
  const d = DEFAULT_DESTINATION_CAPABILITIES
  return Object.freeze({
    ...d,
    ...partial,
    diskTargets: Object.freeze([...(partial.diskTargets ?? d.diskTargets)]),
    acceptsFormats: Object.freeze([...(partial.acceptsFormats ?? d.acceptsFormats)]),
    firmware: Object.freeze([...(partial.firmware ?? d.firmware)]),
  })
}

/** Declares a source driver module: `export default defineSourceDriver({...})`. */
export function defineSourceDriver<Options>(module: Omit<SourceDriverModule<Options>, 'role' | 'apiVersion'>): SourceDriverModule<Options> {
  checkName(module.name)
  return Object.freeze({ ...module, role: 'source' as const, apiVersion: API_VERSION })
}

/** Declares a destination driver module: `export default defineDestinationDriver({...})`. */
export function defineDestinationDriver<Options>(
  module: Omit<DestinationDriverModule<Options>, 'role' | 'apiVersion'>,
): DestinationDriverModule<Options> {
  checkName(module.name)
  return Object.freeze({ ...module, role: 'destination' as const, apiVersion: API_VERSION })
}
