import { DriverRegistry, type DriverEntry } from '../../src/drivers/registry.js'

const PLUGINS: Record<'vmware' | 'hyperv' | 'openstack', DriverEntry> = {
  vmware: {
    name: 'vmware',
    role: 'source',
    plugin: '@guts/driver-vmware',
    version: '0',
    builtin: false,
    load: () => import('@guts/driver-vmware'),
  },
  hyperv: {
    name: 'hyperv',
    role: 'source',
    plugin: '@guts/driver-hyperv',
    version: '0',
    builtin: false,
    load: () => import('@guts/driver-hyperv'),
  },
  openstack: {
    name: 'openstack',
    role: 'destination',
    plugin: '@guts/driver-openstack',
    version: '0',
    builtin: false,
    load: () => import('@guts/driver-openstack'),
  },
}

/** The built-in drivers plus the named first-party plugins, as an installed guts would see them. */
export function registryWith(...plugins: (keyof typeof PLUGINS)[]): DriverRegistry {
  return new DriverRegistry([...DriverRegistry.builtin().list(), ...plugins.map((p) => PLUGINS[p])])
}
