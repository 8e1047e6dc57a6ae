import { z } from 'zod'
import * as o from '../core/schemas/outputs.js'

/**
 * The `--json` output of every command, keyed by command id. `schemas/<id>.json` holds each as JSON
 * Schema (written by `npm run schemas`); test/unit/json-schemas.test.ts fails when a command has no
 * entry or a committed file differs, so a change to `--json` is always a deliberate one. Kept out of
 * the commands themselves so that running one never loads zod for it.
 */
export const OUTPUT_SCHEMAS: Record<string, z.ZodType> = {
  'config:get': o.configOutput,
  'config:set': o.configOutput,
  'config:unset': o.configOutput,
  doctor: o.doctorOutput,
  'drivers:list': o.driversListOutput,
  migrate: o.runOutput,
  'migration:cancel': o.cancelOutput,
  'migration:cleanup': o.cleanupOutput,
  'migration:cutover': o.cutoverOutput,
  'migration:list': o.migrationListOutput,
  'migration:resume': o.runOutput,
  'migration:retry': o.runOutput,
  'migration:show': o.migrationShowOutput,
  'plan:init': o.planInitOutput,
  'plan:schema': o.planSchemaOutput,
  'plan:validate': o.planValidateOutput,
  serve: o.serveOutput,
  'token:create': o.tokenCreateOutput,
  'token:list': o.tokenListOutput,
  'token:revoke': o.tokenRevokeOutput,
  'vm:list': o.vmListOutput,
  'vm:show': o.vmShowOutput,
}

/** A command's output schema as JSON Schema (draft 2020-12), as committed under `schemas/`. */
export function outputJsonSchema(id: string): Record<string, unknown> {
  const schema = OUTPUT_SCHEMAS[id]
  if (!schema) throw new Error(`no output schema for ${id}`)
  const errorSchema = z.toJSONSchema(o.errorOutput, { io: 'output' })
  return {
    $id: `https://guts.dev/schemas/${id.replace(/:/g, '-')}.json`,
    title: `guts ${id.replace(/:/g, ' ')} --json`,
    ...z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }),
    $defs: { error: errorSchema },
  }
}
