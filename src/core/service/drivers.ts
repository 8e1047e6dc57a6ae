import { isGutsError } from '@guts/sdk'
import type { DriverRegistry } from '../../drivers/registry.js'

export interface DriverRow {
  name: string
  role: string
  plugin: string
  version: string
  description?: string
  capabilities: string[]
  error?: string
}

/** Loads each driver module (not connecting) to show its declared capabilities as short words. */
export async function describeDrivers(registry: DriverRegistry): Promise<DriverRow[]> {
  return Promise.all(
    registry.list().map(async (e) => {
      const base = { name: e.name, role: e.role, plugin: e.plugin, version: e.version }
      try {
        const m = await registry.load(e.name, e.role)
        return { ...base, description: m.description, capabilities: words(m.capabilities ?? {}) }
      } catch (error) {
        return { ...base, capabilities: [], error: isGutsError(error) || error instanceof Error ? error.message : String(error) }
      }
    }),
  )
}

/** `{liveExport: true, diskAccess: ['file']}` → `['liveExport', 'diskAccess=file']` */
function words(caps: object): string[] {
  return Object.entries(caps).flatMap(([k, v]) => (v === true ? [k] : Array.isArray(v) ? [`${k}=${v.join(',')}`] : []))
}
