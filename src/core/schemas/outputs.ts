import { z } from 'zod'
import { DISK_FORMATS, type DiskDescriptor, type DiskFormat, type NicDescriptor, type VmDescriptor } from '@guts/sdk'
import type { TokenRole } from '../state/store.js'

/**
 * The shapes guts shows the outside world: `--json` of every command (one JSON Schema each under
 * `schemas/`, checked in CI so a breaking change is deliberate) and, later, the REST API's
 * responses. Objects are open (`looseObject`): adding a field is not a breaking change.
 */
const error = z.looseObject({ code: z.string(), message: z.string(), ref: z.string().optional(), suggestions: z.array(z.string()).optional(), retryable: z.boolean().optional() })
const migrationStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'partial', 'cancelled', 'rolled-back'])
const vmStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled', 'rolled-back', 'skipped'])
const iso = z.string().describe('ISO 8601 time')

export const errorOutput = z.object({ error }).describe('What every command prints as JSON when it fails')

export const vmReport = z.looseObject({
  name: z.string(),
  status: vmStatus,
  stage: z.string().optional(),
  target: z.string().optional(),
  instance: z.looseObject({ id: z.string() }).optional(),
  error: error.optional(),
  downtime: z.object({ seconds: z.number(), poweredOffAt: iso, runningAt: iso }).optional(),
  warm: z.object({ syncs: z.number().int(), lastSyncAt: iso, cutOver: z.boolean() }).optional(),
  disks: z.array(z.looseObject({ id: z.string(), virtualSize: z.number(), route: z.string().optional(), bytesWritten: z.number().optional(), sha256: z.string().optional() })),
})

export const migrationReport = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: migrationStatus,
  createdAt: iso,
  startedAt: iso.optional(),
  finishedAt: iso.optional(),
  seconds: z.number().optional(),
  vms: z.array(vmReport),
})

/** `migrate`, `resume`, `retry`: the last of the JSON lines (events before it carry `type` and `at`). */
export const runOutput = z.looseObject({ type: z.literal('report'), report: migrationReport })

export const migrationShowOutput = migrationReport.extend({
  events: z.array(z.looseObject({ seq: z.number().int(), at: iso, type: z.string(), vmKey: z.string().optional(), data: z.record(z.string(), z.unknown()) })).optional(),
})

export const migrationListOutput = z.array(
  z.looseObject({
    id: z.string(), name: z.string(), status: migrationStatus, interrupted: z.boolean(), createdAt: iso, updatedAt: iso,
    startedAt: iso.optional(), finishedAt: iso.optional(), cancelRequested: z.boolean(), planPath: z.string().optional(), error: error.optional(),
    vms: z.array(z.object({ name: z.string(), status: vmStatus, stage: z.string().optional() })),
  }),
)

export const cancelOutput = z.looseObject({ id: z.string(), status: migrationStatus, cancelRequested: z.boolean() })
export const cutoverOutput = z.looseObject({ id: z.string(), vms: z.array(z.string()), running: z.boolean() })
export const cleanupOutput = z.looseObject({ id: z.string(), status: migrationStatus, cleaned: z.array(z.string()), failed: z.array(z.string()) })

/** A VM as a source lists it (the SDK's VmSummary); drivers say `unknown` when the source does not tell. */
const vmSummary = z.looseObject({
  id: z.string(),
  name: z.string(),
  powerState: z.enum(['on', 'off', 'suspended', 'unknown']),
  folder: z.string().optional(),
  host: z.string().optional(),
})

export const vmListOutput = z.array(vmSummary)

/** `vm show`: one VM as its source driver describes it (the SDK's VmDescriptor), what a migration starts from. */
export const vmShowOutput = vmSummary
  .extend({
    cpus: z.number(),
    memoryMiB: z.number(),
    firmware: z.enum(['bios', 'uefi']),
    secureBoot: z.boolean(),
    os: z.looseObject({
      family: z.enum(['linux', 'windows', 'other']),
      id: z.string().optional(),
      distro: z.string().optional(),
      version: z.string().optional(),
    }),
    disks: z.array(
      z.looseObject({
        id: z.string(),
        index: z.number().int().describe('Boot order; 0 is the boot disk'),
        virtualSize: z.number().describe('Bytes the guest sees'),
        allocatedSize: z.number().optional().describe('Bytes allocated at the source, when known'),
        format: z.enum(DISK_FORMATS as unknown as [DiskFormat, ...DiskFormat[]]),
        controller: z.enum(['ide', 'sata', 'scsi', 'nvme', 'virtio']).optional(),
        thin: z.boolean().optional(),
        name: z.string().optional(),
      }),
    ),
    nics: z.array(
      z.looseObject({
        id: z.string(),
        mac: z.string(),
        network: z.string().describe('Source network or port group, as plans map it'),
        ipAddresses: z.array(z.string()).optional(),
        model: z.enum(['e1000', 'e1000e', 'vmxnet3', 'virtio', 'rtl8139', 'hyperv', 'other']).optional(),
      }),
    ),
    extra: z.record(z.string(), z.unknown()).optional().describe('Driver-specific facts'),
  })
  .describe('One VM as the source driver describes it')

// The schema's enums cover the SDK's unions: a value the SDK adds to one fails the build here.
type Shown = z.output<typeof vmShowOutput>
type Covers<Schema, Sdk extends Schema> = [Schema, Sdk]
type _VmShowCoversSdk = [
  Covers<Shown['powerState'], VmDescriptor['powerState']>,
  Covers<Shown['firmware'], VmDescriptor['firmware']>,
  Covers<Shown['os']['family'], VmDescriptor['os']['family']>,
  Covers<Shown['disks'][number]['format'], DiskDescriptor['format']>,
  Covers<Shown['disks'][number]['controller'], DiskDescriptor['controller']>,
  Covers<Shown['nics'][number]['model'], NicDescriptor['model']>,
]

export const driversListOutput = z.array(
  z.looseObject({ name: z.string(), role: z.enum(['source', 'destination']), plugin: z.string(), version: z.string(), description: z.string().optional(), capabilities: z.array(z.string()), error: z.string().optional() }),
)

export const doctorOutput = z.array(z.looseObject({ name: z.string(), ok: z.boolean(), required: z.boolean(), detail: z.string(), fix: z.string().optional() }))

export const planValidateOutput = z.looseObject({
  file: z.string(),
  valid: z.boolean(),
  issues: z.array(z.looseObject({ file: z.string(), path: z.string(), message: z.string(), line: z.number().int().optional(), col: z.number().int().optional(), severity: z.enum(['error', 'warning']) })),
})

export const planInitOutput = z.looseObject({ file: z.string(), vms: z.array(z.string()), source: z.string(), destination: z.string() })
export const planSchemaOutput = z.record(z.string(), z.unknown()).describe('The JSON Schema of plans')
export const configOutput = z.record(z.string(), z.unknown()).describe('User settings, key → value')

/** An API token as `token list` and the API show it: never its secret or the secret's hash. */
export const tokenView = z.looseObject({
  id: z.string(),
  name: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  prefix: z.string().describe('The first characters of the secret after guts_, to tell tokens apart'),
  createdAt: iso,
  lastUsedAt: iso.optional().describe('Last accepted request, to the minute'),
  revokedAt: iso.optional(),
})
type _TokenRoleCoversStore = Covers<z.output<typeof tokenView>['role'], TokenRole>

export const tokenCreateOutput = z.looseObject({
  token: tokenView,
  secret: z.string().describe('The token itself (guts_…): in this output only, it is not stored and cannot be shown again'),
})
export const tokenListOutput = z.array(tokenView)
export const tokenRevokeOutput = tokenView

export const serveOutput = z
  .looseObject({ url: z.string(), stoppedBy: z.string() })
  .describe('guts serve, once stopped: where it listened and the signal that stopped it')
