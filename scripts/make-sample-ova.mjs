#!/usr/bin/env node
// Builds a sample OVA (two streamOptimized VMDKs with real data, UEFI, 2 NICs) for the quickstart
// and manual testing. Needs `npm run build` first and qemu-img on PATH.
//   node scripts/make-sample-ova.mjs examples/quickstart/sample.ova
import { basename, dirname, extname, resolve } from 'node:path'

const target = process.argv[2]
if (!target || target.startsWith('-')) {
  console.error('usage: node scripts/make-sample-ova.mjs <path/to/name.ova>')
  process.exit(2)
}
const { makeSampleOva } = await import('../dist-fixtures/test/fixtures/make-sample-ova.js').catch((error) => {
  console.error(`Cannot load dist/: run \`npm run build\` first (${error.message})`)
  process.exit(1)
})
const path = resolve(target)
const name = basename(path, extname(path))
try {
  const ova = await makeSampleOva(dirname(path), { name })
  console.log(
    `Wrote ${ova.path}: ${ova.disks.length} disks (${ova.disks.map((d) => `${d.virtualSize / 2 ** 20} MiB`).join(', ')}), ${ova.cpus} vCPUs, ${ova.memoryMiB} MiB, UEFI`,
  )
} catch (error) {
  console.error(error?.message ?? String(error))
  process.exit(1)
}
