#!/usr/bin/env node
// Builds dist/guts, a single executable, with `bun build --compile` from dist/binary.js (the tsc
// output of src/binary.ts; run `npm run build` first — `npm run build:binary` does both).
// --production: without it bun inlines process.env.NODE_ENV as "development" at build time, which
// makes oclif's isProd() false (dev plugins, "did not parse its arguments" warnings).
// package.json is inlined as GUTS_PJSON (the binary has no package.json next to it).
// better-sqlite3 must not be bundled: the binary uses bun:sqlite. sqlite-driver.ts imports it
// through a variable, but bun's minifier folds that constant back into a static import, so it is
// marked --external (the import is never reached under bun); this script fails if a native module
// shows up in the bundle anyway. ssh2's optional native addons are left out the same way.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bun = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'bun.exe' : 'bun')
const entry = join(root, 'dist', 'binary.js')
const outfile = join(root, 'dist', process.platform === 'win32' ? 'guts.exe' : 'guts')
const metafile = join(root, 'dist', 'guts.meta.json')

if (!existsSync(bun)) fail(`bun not found at ${relative(root, bun)} (it is a devDependency: run npm install)`)
if (!existsSync(entry)) fail(`${relative(root, entry)} is missing: run \`npm run build\` first`)

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pjson = { name: pkg.name, version: pkg.version, description: pkg.description, type: pkg.type, oclif: pkg.oclif }

// Bytecode makes startup faster; fall back to a plain build if this bun cannot do it for ESM.
const bytecode = process.env.GUTS_BINARY_BYTECODE !== '0'
const common = [
  'build',
  '--compile',
  '--production',
  '--minify',
  '--sourcemap=none',
  '--target=bun',
  '--format=esm',
  `--define=GUTS_PJSON=${JSON.stringify(pjson)}`,
  '--external=better-sqlite3',
  // ssh2 (the hyperv driver) loads its optional native crypto and cpu-features inside try/catch and
  // falls back to Node's crypto (which bun implements): left out, the binary carries no .node file.
  '--external=cpu-features',
  '--external=*.node',
  `--metafile=${metafile}`,
  entry,
  `--outfile=${outfile}`,
]

const started = performance.now()
let result = build(bytecode ? [...common, '--bytecode'] : common)
if (result.status !== 0 && bytecode) {
  console.warn('build-binary: --bytecode build failed, retrying without bytecode')
  result = build(common)
}
if (result.status !== 0) fail(`bun build exited with ${result.status ?? result.signal}`)
const seconds = ((performance.now() - started) / 1000).toFixed(1)

const inputs = Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs ?? {})
rmSync(metafile, { force: true })
const native = inputs.filter((p) => /node_modules\/(better-sqlite3|bindings)\//.test(p) || p.endsWith('.node'))
if (native.length) fail(`native modules were bundled (the binary must use bun:sqlite): ${native.join(', ')}`)

const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1)
console.log(
  `build-binary: ${relative(root, outfile)} — ${mb} MiB, ${inputs.length} modules, built in ${seconds}s${bytecode && result.bytecode ? ' (bytecode)' : ''}`,
)

function build(args) {
  console.log(
    `build-binary: ${relative(root, bun)} ${args.map((a) => (a.startsWith('--define=') ? '--define=GUTS_PJSON=<package.json>' : a.startsWith('-') ? a : relative(root, a))).join(' ')}`,
  )
  const r = spawnSync(bun, args, { cwd: root, stdio: 'inherit' })
  process.stdout.write('\n')
  return { status: r.status, signal: r.signal, bytecode: args.includes('--bytecode') }
}

function fail(message) {
  console.error(`build-binary: ${message}`)
  process.exit(1)
}
