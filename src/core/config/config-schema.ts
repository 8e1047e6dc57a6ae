import { z } from 'zod'
import { defaultsSchema, endpointSchema } from '../plan/schema.js'

/**
 * `guts.config.{yaml,json,js}` / `.gutsrc*`: team-wide defaults and named endpoints that plans reference
 * with `source: {profile: vc-prod}`. Values may use `${env:…}` / `${file:…}` like plans.
 */
export const gutsConfigSchema = z.strictObject({
  defaults: defaultsSchema.optional(),
  policy: z
    .strictObject({
      concurrency: z.int().min(1).max(64).optional(),
      perHost: z.int().min(1).max(64).optional(),
      diskConcurrency: z.int().min(1).max(16).optional(),
      onFailure: z.enum(['rollback', 'keep']).optional(),
      verify: z.boolean().optional(),
    })
    .optional(),
  profiles: z
    .strictObject({
      sources: z.record(z.string(), endpointSchema).optional(),
      destinations: z.record(z.string(), endpointSchema).optional(),
    })
    .optional(),
})

export type GutsConfig = z.output<typeof gutsConfigSchema>
