import type { Flavor } from './client/nova.js'

export interface FlavorNeed {
  vcpus: number
  ramMiB: number
  /** Root disk GiB the flavor must hold; 0 when booting from a volume (the flavor disk is unused). */
  diskGiB: number
}

export function fits(f: Flavor, need: FlavorNeed): boolean {
  return f.vcpus >= need.vcpus && f.ram >= need.ramMiB && (need.diskGiB === 0 || f.disk >= need.diskGiB)
}

/** The smallest enabled flavor that fits: least RAM, then fewest vCPUs, then smallest disk, then name. */
export function pickAutoFlavor(flavors: readonly Flavor[], need: FlavorNeed): Flavor | undefined {
  return flavors
    .filter((f) => !f['OS-FLV-DISABLED:disabled'] && fits(f, need))
    .sort((a, b) => a.ram - b.ram || a.vcpus - b.vcpus || a.disk - b.disk || a.name.localeCompare(b.name))[0]
}

/** A flavor by name or id; names are matched exactly. */
export function findFlavor(flavors: readonly Flavor[], nameOrId: string): Flavor | undefined {
  return flavors.find((f) => f.name === nameOrId) ?? flavors.find((f) => f.id === nameOrId)
}

/** `auto` (or unset) picks by need; anything else must exist. Returns the reason when none. */
export function resolveFlavor(
  flavors: readonly Flavor[],
  wanted: string | undefined,
  need: FlavorNeed,
): { flavor: Flavor } | { problem: string; code: string } {
  if (!wanted || wanted === 'auto') {
    const flavor = pickAutoFlavor(flavors, need)
    if (flavor) return { flavor }
    return {
      code: 'flavor-none-fits',
      problem: `No flavor has ${need.vcpus} vCPUs, ${need.ramMiB} MiB RAM${need.diskGiB ? ` and a ${need.diskGiB} GiB disk` : ''}; the largest are ${largest(flavors)}.`,
    }
  }
  const flavor = findFlavor(flavors, wanted)
  if (!flavor)
    return {
      code: 'flavor-not-found',
      problem: `Flavor "${wanted}" does not exist (known: ${
        flavors
          .map((f) => f.name)
          .sort()
          .join(', ') || 'none'
      }).`,
    }
  return { flavor }
}

function largest(flavors: readonly Flavor[]): string {
  return (
    [...flavors]
      .sort((a, b) => b.ram - a.ram)
      .slice(0, 3)
      .map((f) => `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GiB)`)
      .join(', ') || 'none'
  )
}
