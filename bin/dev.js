#!/usr/bin/env node
// Development entry: runs the compiled commands after `npm run build` (no ts-node, same as production).
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
