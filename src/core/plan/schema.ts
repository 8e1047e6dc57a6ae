import { z } from 'zod'

/**
 * The YAML plan. Unknown keys are errors everywhere except in `source` / `destination`, whose extra keys
 * are the driver's own options, checked against that driver's `optionsSchema`.
 * Any string may hold `${env:NAME}` or `${file:PATH}` references, resolved at run time.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const DRIVER = /^[a-z][a-z0-9-]*$/

export const networkMappingSchema = z.strictObject({
  from: z.string().min(1).describe('Source network or port group name'),
  to: z.string().min(1).describe('Destination network name or id'),
  keepMac: z.boolean().default(true).describe('Give the destination NIC the source MAC address'),
  fixedIp: z.union([z.ipv4(), z.ipv6()]).optional().describe('Fixed IP for the destination port'),
})

/** Settings a VM takes from `defaults` unless it sets them itself. */
const vmSettings = {
  flavor: z.string().min(1).optional().describe('Flavor name, or "auto" for the smallest that fits'),
  mode: z
    .enum(['cold', 'snapshot', 'warm'])
    .optional()
    .describe('cold: VM powered off; snapshot: live export; warm: CBT delta syncs then cutover'),
  powerOff: z.enum(['shutdown', 'force', 'refuse']).optional().describe('What to do with a running VM in cold mode'),
  networks: z.array(networkMappingSchema).optional(),
  bootFrom: z.enum(['image', 'volume']).optional(),
  diskFormat: z.enum(['qcow2', 'raw']).optional(),
  securityGroups: z.array(z.string().min(1)).optional(),
  keyPair: z.string().min(1).optional(),
  availabilityZone: z.string().min(1).optional(),
  volumeType: z.string().min(1).optional(),
}

export const defaultsSchema = z.strictObject(vmSettings)

export const vmEntrySchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('VM name at the source'),
    id: z.string().min(1).optional().describe("VM id at the source (the driver's own id)"),
    match: z
      .strictObject({
        folder: z.string().min(1).optional(),
        name: z.string().min(1).optional().describe('Glob on the VM name, e.g. "app-*"'),
      })
      .optional(),
    targetName: z.string().regex(NAME, 'letters, digits, ".", "_" and "-"').optional().describe('Name at the destination'),
    ...vmSettings,
  })
  .superRefine((vm, ctx) => {
    const selectors = [vm.name, vm.id, vm.match].filter((v) => v !== undefined).length
    if (selectors !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of name, id or match' })
    if (vm.match && vm.targetName)
      ctx.addIssue({ code: 'custom', path: ['targetName'], message: 'targetName needs a single VM: use name or id, not match' })
  })

export const endpointSchema = z
  .looseObject({
    driver: z.string().regex(DRIVER, 'lower-case driver name').optional(),
    profile: z.string().min(1).optional().describe('A named source/destination from guts.config.yaml'),
  })
  .superRefine((e, ctx) => {
    if (!e.driver && !e.profile)
      ctx.addIssue({ code: 'custom', message: 'give a driver (e.g. driver: vmware) or a profile from guts.config.yaml' })
  })

export const policySchema = z.strictObject({
  concurrency: z.int().min(1).max(64).default(4).describe('VMs migrated at the same time'),
  perHost: z.int().min(1).max(64).default(2).describe('VMs exported at the same time from one source host'),
  diskConcurrency: z.int().min(1).max(16).default(2).describe('Disks of one VM transferred at the same time'),
  onFailure: z.enum(['rollback', 'keep']).default('rollback').describe('rollback deletes what guts created for a failed VM'),
  verify: z.boolean().default(true).describe('Compare destination disks with the source after the transfer'),
})

const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/

export const warmSchema = z.strictObject({
  syncInterval: z
    .string()
    .regex(DURATION, 'a duration such as "30s", "15m" or "1h"')
    .default('1h')
    .describe('Time between delta syncs of a warm migration'),
  cutoverAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('When to cut over (ISO 8601); without it, `guts migration cutover <id>` does'),
  maxSyncFailures: z.int().min(1).max(100).default(3).describe('Consecutive failed delta syncs before the VM fails'),
  shutdownTimeout: z
    .string()
    .regex(DURATION, 'a duration such as "5m"')
    .default('5m')
    .describe('Guest shutdown time at cutover before the power is cut'),
})

export const planSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().regex(NAME, 'letters, digits, ".", "_" and "-"'),
  description: z.string().optional(),
  source: endpointSchema,
  destination: endpointSchema,
  defaults: defaultsSchema.default({}),
  policy: policySchema.default({ concurrency: 4, perHost: 2, diskConcurrency: 2, onFailure: 'rollback', verify: true }),
  warm: warmSchema
    .default({ syncInterval: '1h', maxSyncFailures: 3, shutdownTimeout: '5m' })
    .describe('Settings of warm migrations (mode: warm)'),
  vms: z.array(vmEntrySchema).min(1, 'list at least one VM'),
})

export type Plan = z.output<typeof planSchema>
export type PlanInput = z.input<typeof planSchema>
export type VmEntry = z.output<typeof vmEntrySchema>
export type PlanDefaults = z.output<typeof defaultsSchema>
export type Endpoint = z.output<typeof endpointSchema>
export type NetworkMappingEntry = z.output<typeof networkMappingSchema>
export type WarmSettings = z.output<typeof warmSchema>

/** `"90s"` → 90000. The plan schema has already checked the shape. */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!m) throw new Error(`not a duration: ${text}`)
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'])
}

/** Keys of `source` / `destination` that belong to guts, not to the driver. */
export const ENDPOINT_KEYS = ['driver', 'profile'] as const

/** The plan's JSON Schema (`guts plan schema`), for editors and CI linters. */
export function planJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(planSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://guts.dev/schemas/plan-v1.json',
    title: 'guts migration plan',
  }
}
