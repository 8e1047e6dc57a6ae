#!/usr/bin/env node
// Writes oclif.manifest.json from the compiled commands, so `guts --help` and command lookup do not
// import every command module at start-up. Run after `tsc -b` (part of `npm run build`).
import { rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config } from '@oclif/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const target = join(root, 'oclif.manifest.json')
rmSync(target, { force: true }) // a stale manifest would be read instead of the commands
const config = await Config.load({ root, devPlugins: false, userPlugins: false })
const plugin = config.getPluginsList().find((p) => p.isRoot)
if (!plugin || Object.keys(plugin.manifest.commands).length === 0) {
  console.error('write-manifest: no commands found; run tsc -b first')
  process.exit(1)
}
writeFileSync(target, JSON.stringify(plugin.manifest, null, 2))
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
