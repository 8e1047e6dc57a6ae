/**
 * Entry point of the single executable (`npm run build:binary` → dist/guts, made with
 * `bun build --compile`). bin/run.js stays the entry for Node.
 *
 * Inside the binary there is no package.json and no dist/commands directory to scan, so:
 * - package.json is inlined at build time (scripts/build-binary.mjs passes it as `GUTS_PJSON`
 *   with `--define`) and handed to oclif as the root plugin's pjson;
 * - commands come from the statically imported COMMANDS (src/commands-index.ts) through the
 *   `explicit` discovery strategy, and Plugin#loadCommandsFromTarget is overridden for the root
 *   plugin because oclif would otherwise `import()` the target file from disk;
 * - @oclif/plugin-help's `help` command is added to that list; @oclif/plugin-plugins is left out
 *   (it shells out to npm). Plugins already installed with the Node build are still loaded
 *   from the data dir as user plugins.
 */
import { dirname } from 'node:path'
import { execute, Plugin, settings, type Command, type Interfaces } from '@oclif/core'
import { commands as helpCommands } from '@oclif/plugin-help'
import { COMMANDS } from './commands-index.js'
import { DriverRegistry } from './drivers/registry.js'

declare const GUTS_PJSON: Interfaces.PJSON | undefined

const EXPLICIT_TARGET = './dist/commands-index.js'

const ALL_COMMANDS: Record<string, Command.Class> = { ...helpCommands, ...COMMANDS }

async function packageJson(): Promise<Interfaces.PJSON> {
  if (typeof GUTS_PJSON !== 'undefined') return GUTS_PJSON
  // Not compiled by scripts/build-binary.mjs (e.g. `bun dist/binary.js` while debugging).
  const { readFile } = await import('node:fs/promises')
  return JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as Interfaces.PJSON
}

const base = await packageJson()
const pjson: Interfaces.PJSON = {
  ...base,
  oclif: {
    ...base.oclif,
    commands: { strategy: 'explicit', target: EXPLICIT_TARGET, identifier: 'COMMANDS' },
    plugins: [],
    devPlugins: [],
  },
}

type PluginInternals = {
  isRoot: boolean
  commandCache?: Record<string, Command.Class>
  loadCommandsFromTarget(): Promise<Record<string, Command.Class> | undefined>
}
const proto = Plugin.prototype as unknown as PluginInternals
const loadCommandsFromTarget = proto.loadCommandsFromTarget
proto.loadCommandsFromTarget = async function (this: PluginInternals) {
  if (!this.isRoot) return loadCommandsFromTarget.call(this)
  this.commandCache = ALL_COMMANDS
  return ALL_COMMANDS
}

// The first-party driver plugins ship inside the binary (lazy: imported only when a plan names them).
DriverRegistry.bundled.push(
  {
    name: 'openstack',
    role: 'destination',
    plugin: '@guts/driver-openstack',
    version: base.version,
    builtin: false,
    load: () => import('@guts/driver-openstack'),
  },
  {
    name: 'vmware',
    role: 'source',
    plugin: '@guts/driver-vmware',
    version: base.version,
    builtin: false,
    load: () => import('@guts/driver-vmware'),
  },
  {
    name: 'hyperv',
    role: 'source',
    plugin: '@guts/driver-hyperv',
    version: base.version,
    builtin: false,
    load: () => import('@guts/driver-hyperv'),
  },
)

// Nothing to transpile in a compiled binary, and no ts-node/tsx to find.
settings.enableAutoTranspile = false

await execute({
  args: process.argv.slice(2),
  loadOptions: { root: dirname(process.execPath), pjson, isRoot: true, devPlugins: false },
})
