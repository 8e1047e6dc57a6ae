import { z } from 'zod'
import { DISK_FORMATS, GutsError, type JsonObject } from '@guts/sdk'
import { defaultsSchema } from '../plan/schema.js'

/**
 * The shape of a VM's stored checkpoint, checked whenever a process reads one back (a resume, a
 * retry, a cleanup, a report): a record written by another version, edited by hand or damaged
 * must stop the VM with a clear error instead of driving the drivers with half a session.
 * Driver-owned parts (session and instance `data`, descriptor `extra`) are only required to be JSON.
 */

const json = z.record(z.string(), z.json())
const ref = z.looseObject({ id: z.string(), name: z.string() })
const format = z.enum(DISK_FORMATS as unknown as [string, ...string[]])
const finding = z.looseObject({
  severity: z.enum(['error', 'warning', 'info']),
  code: z.string(),
  message: z.string(),
  ref: z.string().optional(),
})
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'a date and time')

const job = z.looseObject({
  key: z.string().min(1),
  ref,
  host: z.string().optional(),
  planIndex: z.int().min(0),
  targetName: z.string().min(1),
  settings: defaultsSchema.required({ mode: true, powerOff: true }),
})

const disk = z.looseObject({ id: z.string().min(1), index: z.int().min(0), virtualSize: z.number().positive(), format })

// What the stages read is required; the rest of a driver's description is checked when present.
const descriptor = z.looseObject({
  id: z.string(),
  name: z.string(),
  disks: z.array(disk),
  powerState: z.enum(['on', 'off', 'suspended', 'unknown']).optional(),
  cpus: z.number().positive().optional(),
  memoryMiB: z.number().positive().optional(),
  firmware: z.enum(['bios', 'uefi']).optional(),
  nics: z.array(z.looseObject({ id: z.string(), mac: z.string(), network: z.string() })).optional(),
  extra: json.optional(),
})

const exportSession = z.looseObject({
  vm: ref,
  mode: z.enum(['cold', 'snapshot']),
  data: json,
  changeIds: z.record(z.string(), z.string()).optional(),
})
const importSession = z.looseObject({ vm: ref, data: json })
const instance = z.looseObject({ id: z.string().min(1), data: json })

const committedDisk = z.looseObject({
  diskId: z.string().min(1),
  route: z.string(),
  virtualSize: z.number().nonnegative(),
  bytesWritten: z.number().nonnegative(),
  format,
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  committed: z.literal(true),
  target: z.strictObject({ kind: z.literal('file'), path: z.string().min(1), format }).optional(),
})

const warm = z.looseObject({
  replicas: z.record(z.string(), z.string().min(1)),
  changeIds: z.record(z.string(), z.string()),
  syncs: z.int().min(1),
  lastSyncAt: isoTime,
  cutOver: z.boolean().optional(),
})

/** Top level is strict: a key guts never writes means the record is not (or no longer) guts' own. */
export const checkpointSchema = z.strictObject({
  job: job.optional(),
  descriptor: descriptor.optional(),
  preflight: z.array(finding).optional(),
  exportSession: exportSession.optional(),
  importSession: importSession.optional(),
  disks: z.record(z.string(), committedDisk).optional(),
  instance: instance.optional(),
  verify: z.array(finding).optional(),
  warm: warm.optional(),
  poweredOffAt: isoTime.optional(),
  downtime: z.strictObject({ seconds: z.number().nonnegative(), poweredOffAt: isoTime, runningAt: isoTime }).optional(),
})

/**
 * Validates a stored checkpoint. Keys set to `null` are cleared ones (a rollback resets the
 * record that way) and read as absent. Throws GUTS_STATE_ERROR naming the VM and the first bad path.
 */
export function parseCheckpoint(stored: JsonObject, vmKey?: string): z.output<typeof checkpointSchema> {
  const present = Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== null))
  const result = checkpointSchema.safeParse(present)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const path = pathText(issue.path)
  const vm =
    vmKey ?? (typeof (stored.job as JsonObject | undefined)?.key === 'string' ? String((stored.job as JsonObject).key) : 'unknown VM')
  throw new GutsError('GUTS_STATE_ERROR', `The stored checkpoint of VM "${vm}" is not valid at ${path}: ${issue.message}`, {
    ref: vm,
    details: { vm, path, issues: result.error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    suggestions: [
      'The state was written by another guts version or changed outside guts: resuming it could act on the wrong resources.',
      'Run `guts migration cleanup <id>` to remove what the migration created, then start a new migration of this VM.',
    ],
  })
}

/** `['disks', 'disk-0', 'format']` → `disks.disk-0.format`; array indexes as `[0]`. */
function pathText(path: readonly PropertyKey[]): string {
  if (!path.length) return '(top level)'
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('')
}
