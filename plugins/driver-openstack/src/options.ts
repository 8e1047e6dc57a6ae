import type { JsonSchema } from '@guts/sdk'
import { z } from 'zod'

export const SECRET_OPTIONS = ['password', 'applicationCredentialSecret'] as const

const text = () => z.string().min(1)

/** Options that override or replace clouds.yaml / OS_* values (see client/cloud-config.ts). */
const cloudOverrides = {
  cloud: text().optional().describe('Entry of clouds.yaml (+ secure.yaml) to use; default OS_CLOUD, else the OS_* variables.'),
  authUrl: text().optional().describe('Keystone URL, e.g. https://keystone.example.com:5000/v3.'),
  username: text().optional(),
  password: text().optional().describe('Secret: never logged or stored.'),
  projectName: text().optional(),
  userDomainName: text().default('Default').optional(),
  projectDomainName: text().default('Default').optional(),
  applicationCredentialId: text().optional(),
  applicationCredentialSecret: text().optional().describe('Secret: never logged or stored.'),
  region: text().optional(),
  interface: z.enum(['public', 'internal', 'admin']).default('public').optional(),
  caCert: text().optional().describe('PEM CA bundle that signed the API endpoints.'),
  insecure: z.boolean().default(false).optional().describe('Skip TLS verification (labs only).'),
}

/**
 * The one definition of the driver's plan options (`destination.options`): the TypeScript type
 * and the JSON Schema that `guts plan validate` checks before any connection both come from it.
 */
export const OpenStackOptionsSchema = z
  .strictObject({
    ...cloudOverrides,
    bootFrom: z
      .enum(['image', 'volume'])
      .default('image')
      .optional()
      .describe('image: Nova boots from the Glance image; volume: from a Cinder volume made from it.'),
    diskFormat: z
      .enum(['qcow2', 'raw'])
      .default('qcow2')
      .optional()
      .describe("Format uploaded to Glance; a VM mapping's diskFormat overrides it."),
  })
  .describe(
    'Lands VMs on OpenStack: one Glance image per disk, Cinder volumes for data disks (and the boot disk with bootFrom: volume), Neutron ports keeping the source MACs, and a Nova server. Credentials come from clouds.yaml (`cloud`, or OS_CLOUD) or OS_* variables; options given here override them.',
  )

/**
 * What the driver accepts in a plan. The input type: the driver gets the options as written
 * (defaults are the schema's documentation and the driver's own fallbacks), not zod's output.
 */
export type OpenStackOptions = z.input<typeof OpenStackOptionsSchema>

/** The options that override clouds.yaml / OS_* values. */
export type CloudOverrides = Omit<OpenStackOptions, 'bootFrom' | 'diskFormat'>

/** The JSON Schema of the options, as plan validation and `guts plan schema` read it. */
export const openstackOptionsSchema: JsonSchema = (({ $schema: _, ...schema }) => schema)(
  z.toJSONSchema(OpenStackOptionsSchema, { io: 'input' }),
)
