import { defineSourceDriver } from '@guts/sdk'
import { TEMPLATE_CAPABILITIES, TemplateSourceDriver, type TemplateSourceOptions } from './driver.js'

/**
 * The module guts loads: package.json's `guts.drivers["template-source"].module` points at the
 * built copy of this file, and its default export declares the driver. The core validates plan
 * options against `optionsSchema` before calling `create`, so `create` can trust them.
 */
export default defineSourceDriver<TemplateSourceOptions>({
  name: 'template-source',
  capabilities: TEMPLATE_CAPABILITIES,
  description: 'VMs described by JSON files in a directory, with raw disk files (a template for new drivers)',
  optionsSchema: {
    type: 'object',
    properties: {
      directory: { type: 'string', minLength: 1, description: 'Directory holding one <vm>.json per VM' },
      accessKey: { type: 'string', description: "Must match the directory's .access-key file, when it has one" },
    },
    required: ['directory'],
    additionalProperties: false,
  },
  // Never logged, stored or echoed by the core.
  secretOptions: ['accessKey'],
  create: (options) => new TemplateSourceDriver(options),
})

export { TemplateSourceDriver, type TemplateSourceOptions } from './driver.js'
