import { defineDestinationDriver } from '@guts/sdk'
import { OPENSTACK_CAPABILITIES, OpenStackDestination } from './driver.js'
import { openstackOptionsSchema, SECRET_OPTIONS, type OpenStackOptions } from './options.js'
import { OPENSTACK_SETUP } from './setup.js'

export default defineDestinationDriver<OpenStackOptions>({
  name: 'openstack',
  description: 'Lands VMs on OpenStack: Glance images, Cinder volumes, Neutron ports that keep the MACs, and a Nova server',
  capabilities: OPENSTACK_CAPABILITIES,
  optionsSchema: openstackOptionsSchema,
  secretOptions: SECRET_OPTIONS,
  setup: OPENSTACK_SETUP,
  create: (options) => new OpenStackDestination(options ?? {}),
})

// The factory and its options type only; tests and benchmarks reach inside through ./testing.
export type { OpenStackOptions } from './options.js'
