#!/usr/bin/env node
// An independent check of the quickstart: unpacks the OVA's disks with tar and asks qemu-img whether
// each migrated disk has the same guest-visible content. Exit 1 on any difference.
//   node scripts/compare-quickstart.mjs examples/quickstart/sample.ova examples/quickstart/out
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, extname, join } from 'node:path'

const [ova, outDir] = process.argv.slice(2)
if (!ova || !outDir) {
  console.error('usage: compare-quickstart.mjs <sample.ova> <output directory>')
  process.exit(2)
}
const vm = basename(ova, extname(ova))
const manifest = JSON.parse(readFileSync(join(outDir, vm, 'vm.json'), 'utf8'))
const tmp = mkdtempSync(join(tmpdir(), 'guts-compare-'))
let failed = 0
try {
  execFileSync('tar', ['-xf', ova, '-C', tmp])
  const vmdks = execFileSync('tar', ['-tf', ova], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.vmdk'))
    .sort()
  for (const [i, disk] of manifest.disks.entries()) {
    const source = join(tmp, vmdks[i])
    const target = join(outDir, vm, disk.file)
    try {
      execFileSync('qemu-img', ['compare', '-f', 'vmdk', '-F', disk.format, source, target], { stdio: 'pipe' })
      console.log(`✔ ${disk.id}: ${target} equals ${vmdks[i]} (qemu-img compare)`)
    } catch (error) {
      failed++
      console.log(`✘ ${disk.id}: ${target} differs from ${vmdks[i]}: ${String(error.stdout ?? error.message).trim()}`)
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
if (failed) process.exit(1)
console.log(`The quickstart migrated ${manifest.disks.length} disks of "${vm}" and they match the source.`)
