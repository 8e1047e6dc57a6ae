import { z } from 'zod'
import {
  cancelOutput,
  cleanupOutput,
  cutoverOutput,
  driversListOutput,
  errorOutput,
  migrationListOutput,
  migrationShowOutput,
  planValidateOutput,
} from '../core/schemas/outputs.js'

/**
 * Requests and responses of the REST API: one zod schema each gives the validation, the handler's
 * types and the OpenAPI document (fastify-type-provider-zod). Responses reuse the CLI's `--json`
 * shapes (src/core/schemas/outputs.ts), so both front ends promise the same thing.
 */

export const migrationId = z.object({
  id: z.string().min(4).max(64).describe('A migration id, or an unambiguous prefix of at least 4 characters'),
})

/** A plan in a JSON body; `application/yaml` bodies are the plan text itself. */
export const planBody = z.object({
  plan: z.string().min(1).max(1_000_000).describe('The plan, as YAML (or JSON) text'),
  file: z
    .string()
    .max(200)
    .regex(/^[^/\\]+$/, 'a file name, not a path')
    .optional()
    .describe('The name messages use for the plan (plan.yaml:14:7 …); default plan.yaml'),
})

export const createBody = planBody.extend({
  keepOnFailure: z.boolean().optional().describe('Keep what a failed VM created at the destination, for inspection'),
  start: z.boolean().optional().describe('Start running it at once (default true)'),
})

export const listQuery = z.object({
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'partial', 'cancelled', 'rolled-back']).optional(),
  name: z.string().max(200).optional().describe('Only migrations whose name contains this'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
})

export const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe('Events after this sequence number'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
})

export const cancelBody = z.object({ force: z.boolean().optional() }).default({})
export const vmsBody = z.object({ vms: z.array(z.string().min(1)).max(10_000).optional() }).default({})

const event = z.looseObject({
  seq: z.number().int(),
  at: z.string(),
  type: z.string(),
  vmKey: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
})
export const eventsPage = z.object({ items: z.array(event), next: z.number().int().describe('Pass as `after` for the next page') })
export const migrationsPage = z.object({
  items: migrationListOutput,
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
})
export const accepted = z.looseObject({ id: z.string(), status: z.string(), running: z.boolean() })
export const health = z.object({ status: z.string() })

export { cancelOutput, cleanupOutput, cutoverOutput, driversListOutput, errorOutput, migrationShowOutput, planValidateOutput }

/**
 * The service's records typed as a response schema. The serializer checks every response against
 * its schema at run time (a mismatch is a 500 the contract tests catch), so the cast only bridges
 * internal types (JSON objects, open records) and the published shapes.
 */
export function asResponse<S extends z.ZodType>(_schema: S, value: unknown): z.output<S> {
  return value as z.output<S>
}

/** The error responses every route may give, for the OpenAPI document. */
export const errors = { 400: errorOutput, 401: errorOutput, 403: errorOutput, 404: errorOutput, 409: errorOutput } as const
