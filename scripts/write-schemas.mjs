// Writes schemas/<command>.json — the JSON Schema of each command's --json output — from the built
// dist/. Run after a deliberate change to an output: `npm run schemas`.
import { mkdirSync, writeFileSync } from 'node:fs'
import { OUTPUT_SCHEMAS, outputJsonSchema } from '../dist/cli/output-schemas.js'

mkdirSync('schemas', { recursive: true })
for (const id of Object.keys(OUTPUT_SCHEMAS)) {
  writeFileSync(`schemas/${id.replace(/:/g, '-')}.json`, `${JSON.stringify(outputJsonSchema(id), null, 2)}\n`)
}
console.log(`schemas/: ${Object.keys(OUTPUT_SCHEMAS).length} command output schemas`)
