import type { JsonSchema } from '@guts/sdk'
import { z } from 'zod'

export const SECRET_OPTIONS = ['password', 'passphrase'] as const

/**
 * The one definition of the driver's plan options (`source.options`): the TypeScript type and the
 * JSON Schema that `guts plan validate` checks before any connection both come from it.
 */
export const HypervOptionsSchema = z
  .strictObject({
    host: z.string().min(1).describe('The Hyper-V host (name or address) running OpenSSH Server.'),
    port: z.number().int().min(1).max(65535).default(22).optional(),
    username: z
      .string()
      .min(1)
      .describe('An administrator of the host (or a member of "Hyper-V Administrators" with read access to the disk folders).'),
    password: z.string().optional().describe('Secret: never logged or stored; give it as ${env:NAME} or ${file:PATH}.'),
    privateKey: z.string().min(1).optional().describe('Path of the private key file for key login (OpenSSH or PEM format).'),
    passphrase: z.string().optional().describe('Secret: the private key’s passphrase.'),
    hostKey: z
      .string()
      .regex(/^(SHA256:[A-Za-z0-9+/]{43}=?|(ssh|ecdsa)-[a-z0-9-]+ [A-Za-z0-9+/=]+.*)$/)
      .optional()
      .describe(
        'The host key to trust: its SHA256 fingerprint (ssh-keygen -lf …) or the public key line. Without it the knownHosts files decide.',
      ),
    knownHosts: z.array(z.string().min(1)).optional().describe('known_hosts files that list the host key (default ~/.ssh/known_hosts).'),
    readConcurrency: z.number().int().min(1).max(256).default(32).optional().describe('SFTP reads in flight per disk (256 KiB each).'),
    keepaliveSeconds: z.number().int().min(0).max(3600).default(15).optional().describe('SSH keepalive interval; 0 turns keepalives off.'),
  })
  .describe(
    'Reads VMs from a standalone Hyper-V host (Windows Server 2016+) over OpenSSH: PowerShell for inventory, power and checkpoints, SFTP for the VHDX/VHD files. The host key must be known (hostKey or knownHosts).',
  )

/** What the driver accepts in a plan (options as written; defaults are the driver's own fallbacks). */
export type HypervOptions = z.input<typeof HypervOptionsSchema>

/** The JSON Schema of the options, as plan validation and `guts plan schema` read it. */
export const hypervOptionsSchema: JsonSchema = (({ $schema: _, ...schema }) => schema)(z.toJSONSchema(HypervOptionsSchema, { io: 'input' }))
