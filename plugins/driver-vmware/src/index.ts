import { defineSourceDriver } from '@guts/sdk'
import { VMWARE_CAPABILITIES, VmwareSource } from './driver.js'
import { SECRET_OPTIONS, vmwareOptionsSchema, type VmwareOptions } from './options.js'
import { VMWARE_SETUP } from './setup.js'

export default defineSourceDriver<VmwareOptions>({
  name: 'vmware',
  description:
    'Reads VMs from VMware vCenter or ESXi (vim25 SOAP): inventory, preflight, power control, cold and snapshot (live) export over NFC as raw streams, changed block tracking for warm migration',
  capabilities: VMWARE_CAPABILITIES,
  optionsSchema: vmwareOptionsSchema,
  secretOptions: SECRET_OPTIONS,
  setup: VMWARE_SETUP,
  create: (options) => new VmwareSource(options ?? {}),
})

// The factory and its options type only; tests and benchmarks reach inside through ./testing.
export type { VmwareOptions } from './options.js'
