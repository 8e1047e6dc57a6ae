import { describe, expect, it } from 'vitest'
import type { Flavor } from '../src/client/nova.js'
import { pickAutoFlavor, resolveFlavor } from '../src/flavor.js'

const f = (name: string, vcpus: number, ram: number, disk: number, disabled = false): Flavor => ({
  id: `id-${name}`,
  name,
  vcpus,
  ram,
  disk,
  'OS-FLV-DISABLED:disabled': disabled,
})
const flavors = [
  f('m1.large', 4, 8192, 80),
  f('m1.tiny', 1, 512, 1),
  f('m1.small', 1, 2048, 20),
  f('m1.medium', 2, 4096, 40),
  f('old', 2, 2048, 40, true),
  f('c1.cpu', 4, 2048, 20),
]

describe('flavor selection', () => {
  it('auto picks the smallest flavor that fits vCPUs, RAM and the root disk', () => {
    expect(pickAutoFlavor(flavors, { vcpus: 1, ramMiB: 512, diskGiB: 1 })?.name).toBe('m1.tiny')
    expect(pickAutoFlavor(flavors, { vcpus: 1, ramMiB: 1024, diskGiB: 1 })?.name).toBe('m1.small')
    expect(pickAutoFlavor(flavors, { vcpus: 2, ramMiB: 1024, diskGiB: 30 })?.name).toBe('m1.medium')
    expect(pickAutoFlavor(flavors, { vcpus: 3, ramMiB: 1024, diskGiB: 10 })?.name).toBe('c1.cpu')
  })

  it('ignores the flavor disk when booting from a volume (diskGiB 0), and disabled flavors', () => {
    expect(pickAutoFlavor(flavors, { vcpus: 1, ramMiB: 512, diskGiB: 0 })?.name).toBe('m1.tiny')
    // 'old' (2 vCPU, 2048 MiB) would win, but it is disabled; c1.cpu has less RAM than m1.medium.
    expect(pickAutoFlavor(flavors, { vcpus: 2, ramMiB: 2048, diskGiB: 0 })?.name).toBe('c1.cpu')
  })

  it('reports when nothing fits, naming the largest flavors', () => {
    const r = resolveFlavor(flavors, 'auto', { vcpus: 16, ramMiB: 65536, diskGiB: 1 })
    expect(r).toMatchObject({ code: 'flavor-none-fits' })
    expect('problem' in r && r.problem).toMatch(/m1\.large \(4 vCPU, 8192 MiB, 80 GiB\)/)
  })

  it('resolves a named flavor by name or id, and reports an unknown one', () => {
    expect(resolveFlavor(flavors, 'm1.small', { vcpus: 8, ramMiB: 1, diskGiB: 1 })).toMatchObject({ flavor: { name: 'm1.small' } })
    expect(resolveFlavor(flavors, 'id-m1.medium', { vcpus: 1, ramMiB: 1, diskGiB: 1 })).toMatchObject({ flavor: { name: 'm1.medium' } })
    expect(resolveFlavor(flavors, 'x1.huge', { vcpus: 1, ramMiB: 1, diskGiB: 1 })).toMatchObject({ code: 'flavor-not-found' })
  })
})
