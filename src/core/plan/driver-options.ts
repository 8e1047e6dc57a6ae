import { z } from 'zod'
import type { DriverModule } from '@guts/sdk'
import { ENDPOINT_KEYS } from './schema.js'
import type { PathSegment } from './issues.js'

export interface OptionProblem {
  path: PathSegment[]
  message: string
  /** Set for unknown keys, so the location points at the key. */
  key?: string
}

const cache = new WeakMap<object, z.ZodType>()

/** The options a driver sees: the endpoint without guts' own keys. */
export function driverOptions(endpoint: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(endpoint)) if (!(ENDPOINT_KEYS as readonly string[]).includes(k)) out[k] = v
  return out
}

/**
 * Checks a driver's options against its JSON Schema (converted to zod once per driver), so plugin
 * option mistakes are reported like every other plan mistake, before any connection is made.
 */
export function checkDriverOptions(module: DriverModule, options: Record<string, unknown>, at: PathSegment[]): OptionProblem[] {
  let schema = cache.get(module)
  if (!schema) {
    schema = z.fromJSONSchema(module.optionsSchema as Parameters<typeof z.fromJSONSchema>[0])
    cache.set(module, schema)
  }
  const r = schema.safeParse(options)
  if (r.success) return []
  const out: OptionProblem[] = []
  for (const issue of r.error.issues) {
    const path = [...at, ...(issue.path as PathSegment[])]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: [...path, key], key, message: `unknown option "${key}" for driver "${module.name}"${known(module)}` })
    } else {
      out.push({ path, message: issue.message })
    }
  }
  return out
}

function known(module: DriverModule): string {
  const props = Object.keys((module.optionsSchema as { properties?: object }).properties ?? {})
  return props.length ? ` (known: ${props.join(', ')})` : ''
}
