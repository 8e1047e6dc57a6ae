import { defineSourceDriver } from '@guts/sdk'
import { HYPERV_CAPABILITIES, HypervSource } from './driver.js'
import { hypervOptionsSchema, SECRET_OPTIONS, type HypervOptions } from './options.js'
import { HYPERV_SETUP } from './setup.js'

export default defineSourceDriver<HypervOptions>({
  name: 'hyperv',
  description:
    'Reads VMs from a standalone Hyper-V host over OpenSSH + PowerShell: inventory, preflight, power control, cold and checkpoint (live) export, VHDX/VHD disks decoded over SFTP as raw streams with no staging copy',
  capabilities: HYPERV_CAPABILITIES,
  optionsSchema: hypervOptionsSchema,
  secretOptions: SECRET_OPTIONS,
  setup: HYPERV_SETUP,
  create: (options) => new HypervSource(options ?? ({} as HypervOptions)),
})

export type { HypervOptions } from './options.js'
