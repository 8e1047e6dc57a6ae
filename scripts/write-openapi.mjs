// Writes schemas/openapi.json — the REST API's OpenAPI 3.1 document, built from the routes' zod
// schemas — from the built dist/. CI compares it with what the code builds (test/server/openapi.test.ts),
// so an API change is deliberate: run `npm run schemas` after one and commit the file.
import { writeFileSync } from 'node:fs'
import { openApiDocument } from '../dist/server/openapi.js'

writeFileSync('schemas/openapi.json', `${JSON.stringify(await openApiDocument(), null, 2)}\n`)
console.log('schemas/openapi.json: the REST API')
