import type { TargetMapping } from '../destination.js'
import type { VmDescriptor } from '../model.js'

/**
 * A small VM descriptor for `destinationDriverSuite`'s `fixture.vm`: 1 vCPU, 512 MiB, BIOS,
 * one raw disk of 1 MiB and one NIC. The suite generates the disk content itself.
 */
export function testVm(overrides: Partial<VmDescriptor> = {}): VmDescriptor {
  return {
    id: 'guts-conformance-vm',
    name: 'guts-conformance-vm',
    powerState: 'off',
    cpus: 1,
    memoryMiB: 512,
    firmware: 'bios',
    secureBoot: false,
    os: { family: 'linux' },
    disks: [{ id: 'disk-0', index: 0, virtualSize: 1024 * 1024, format: 'raw' }],
    nics: [{ id: 'nic-0', mac: '52:54:00:00:00:01', network: 'VM Network' }],
    ...overrides,
  }
}

/** A TargetMapping for `fixture.mapping`: fill in what your destination needs (flavor, networks). */
export function testMapping(overrides: Partial<TargetMapping> = {}): TargetMapping {
  return {
    name: 'guts-conformance-vm',
    networks: [],
    tags: { 'guts-test': 'conformance' },
    options: {},
    ...overrides,
  }
}
