import type { JsonSchema } from '@guts/sdk'
import { z } from 'zod'

export const SECRET_OPTIONS = ['password'] as const

/** A SHA-1 (20 bytes, as govc and vSphere print it) or SHA-256 (32 bytes) fingerprint, colons optional. */
const THUMBPRINT = /^(([0-9A-Fa-f]{2}:?){19}|([0-9A-Fa-f]{2}:?){31})[0-9A-Fa-f]{2}$/

/**
 * The one definition of the driver's plan options (`source.options`): the TypeScript type and the
 * JSON Schema that `guts plan validate` checks before any connection both come from it.
 */
export const VmwareOptionsSchema = z
  .strictObject({
    url: z.string().min(1).optional().describe('vCenter/ESXi host or SDK URL, e.g. https://vcenter.example.com/sdk (default GOVC_URL).'),
    username: z.string().min(1).optional(),
    password: z.string().optional().describe('Secret: never logged or stored.'),
    thumbprint: z
      .string()
      .regex(THUMBPRINT)
      .optional()
      .describe('SHA-1 (as GOVC_THUMBPRINT) or SHA-256 fingerprint of the server certificate to pin.'),
    caCert: z.string().min(1).optional().describe('PEM CA bundle that signed the server certificate.'),
    insecure: z.boolean().default(false).optional().describe('Skip TLS verification (labs only).'),
    datacenter: z.string().min(1).optional().describe('Only list VMs of this datacenter.'),
    quiesce: z
      .boolean()
      .default(false)
      .optional()
      .describe(
        'Quiesce the guest file systems (and VSS writers on Windows) through VMware Tools when snapshot and warm exports take their snapshots: application-consistent instead of crash-consistent. Needs VMware Tools running in the guest.',
      ),
  })
  .describe(
    "Reads VMs from vCenter or ESXi over the vim25 SOAP API. Every option may come from govc's environment instead: GOVC_URL (may hold user:pass@), GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE, GOVC_THUMBPRINT, GOVC_TLS_CA_CERTS, GOVC_DATACENTER.",
  )

/**
 * What the driver accepts in a plan. The input type: the driver gets the options as written
 * (defaults are the schema's documentation and the driver's own fallbacks), not zod's output.
 */
export type VmwareOptions = z.input<typeof VmwareOptionsSchema>

/** The JSON Schema of the options, as plan validation and `guts plan schema` read it. */
export const vmwareOptionsSchema: JsonSchema = (({ $schema: _, ...schema }) => schema)(z.toJSONSchema(VmwareOptionsSchema, { io: 'input' }))
