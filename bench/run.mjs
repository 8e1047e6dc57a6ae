#!/usr/bin/env node
// guts benchmarks: every figure is a ratio against a baseline measured in this same run.
// Run with `npm run bench` (builds first) or `node bench/run.mjs` after `npx tsc -b`.
// Scratch files go to bench/.work/ (big images are deleted at the end); results to
// bench/.work/results.json. Always exits 0 unless the bench itself breaks: a MISS informs.
// See bench/README.md. Env: BENCH_SKIP_BINARY=1 skips the single-binary figure;
// BENCH_KEEP=1 keeps the images. GUTS_LAB_OPENSTACK=<lab clouds.yaml> adds the Glance figure;
// GUTS_LAB_VCSIM (the vcsim lab's env) adds the vSphere figures, on vcsimx instances of their own;
// GUTS_LAB_HYPERV (the Hyper-V lab's env) adds the Hyper-V figures.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  GiB,
  MiB,
  allocated,
  alternate,
  makePlan,
  makeRaw,
  median,
  medianIndex,
  min,
  peakOf,
  round,
  run,
  spawnSampled,
  sync,
  timeStartup,
  transferSeconds,
} from './lib.mjs'
import { glanceUpload } from './glance.mjs'
import { vmwareBench } from './vmware.mjs'
import { hypervBench } from './hyperv.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const work = join(root, 'bench', '.work')
const runJs = join(root, 'bin', 'run.js')
const binary = join(root, 'dist', 'guts')
const bun = join(root, 'node_modules', '.bin', 'bun')
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const started = Date.now()
const ROUNDS_SPARSE = Number(process.env.BENCH_ROUNDS_SPARSE ?? 5)
const ROUNDS_THROUGHPUT = Number(process.env.BENCH_ROUNDS_THROUGHPUT ?? 5)
const rows = []
const details = {}

const log = (...a) => console.log(...a)
const section = (t) => log(`\n== ${t} ==`)
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`

/** One summary row. `better`: 'lower' or 'higher' for the target; `on`: which value the target checks. */
function figure({ name, unit, guts, baseline, ratio = guts / baseline, target, limit, better = 'lower', on = 'guts', note }) {
  const checked = on === 'ratio' ? ratio : guts
  const pass = limit == null || checked == null ? null : better === 'lower' ? checked <= limit : checked >= limit
  const row = {
    figure: name,
    unit,
    guts: round(guts),
    baseline: round(baseline),
    ratio: round(ratio),
    target: target ?? '-',
    result: pass == null ? 'info' : pass ? 'PASS' : 'MISS',
    note,
  }
  rows.push(row)
  log(
    `  -> ${name}: guts ${row.guts} ${unit}, baseline ${row.baseline} ${unit}, ratio ${row.ratio}  [${row.result}${target ? `, target ${target}` : ''}]`,
  )
}

/** `guts migrate` of one VM made of `disks`, with a fresh destination and data dir (kept until `cleanup`). */
function gutsMigrate(dir, disks, verify = false, cli = ['node', runJs]) {
  const { plan, env } = makePlan(dir, { disks, verify })
  sync()
  const r = run(cli[0], [...cli.slice(1), 'migrate', plan, '--json'], { env })
  return { seconds: r.seconds, transfer: transferSeconds(r.stdout) }
}

/** Plain `qemu-img convert -O qcow2`, the baseline for transfers. */
function qemuConvert(src, format, dst) {
  rmSync(dst, { force: true })
  sync()
  return run('qemu-img', ['convert', '-f', format, '-O', 'qcow2', src, dst]).seconds
}

/** Outputs are deleted after a series, not between runs, so no run pays for freeing the last one's blocks. */
function cleanup(prefix) {
  for (const name of readdirSync(work)) if (name.startsWith(prefix)) rmSync(join(work, name), { recursive: true, force: true })
  sync()
}

/** Exact peak RSS (MiB) of a command with no children worth counting, via GNU time. */
function maxRssMiB(cmd, args) {
  if (!TIME) return undefined
  const r = run(TIME, ['-f', 'MAXRSS %M', cmd, ...args])
  return Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1]) / 1024
}

/** Puts a `qemu-img` wrapper first on env.PATH that appends "<peak KiB> <command>" per run to a file. */
function qemuImgWrapper(env) {
  const dir = join(work, 'wrap')
  const out = join(work, 'qemu-img-rss.txt')
  const real = run('sh', ['-c', 'command -v qemu-img']).stdout.trim()
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'qemu-img'), `#!/bin/sh\nexec ${TIME} -a -o '${out}' -f '%M %C' '${real}' "$@"\n`, { mode: 0o755 })
  writeFileSync(out, '')
  env.PATH = `${dir}:${env.PATH}`
  return out
}

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
// Whatever happens, leave only results.json (and the small logs) behind, unless BENCH_KEEP=1.
process.on('exit', () => {
  if (process.env.BENCH_KEEP === '1') return
  for (const name of readdirSync(work)) if (!/\.(json|txt)$/.test(name)) rmSync(join(work, name), { recursive: true, force: true })
})
if (!existsSync(join(root, 'dist', 'commands'))) throw new Error('dist/ is missing: run `npx tsc -b` first (or `npm run bench`).')
log(
  `guts bench — node ${process.version}, ${(await import('node:os')).cpus().length} CPUs, ${run('qemu-img', ['--version']).stdout.split('\n')[0]}`,
)

// ---- 1. cold start ----
section('1. Cold start (median of 15, after 2 warm-ups)')
const nodeBase = timeStartup('node', ['-e', '0'], 15)
const gutsHelp = timeStartup('node', [runJs, '--help'], 15)
log(
  `  node -e 0: ${round(nodeBase.median, 1)} ms   node bin/run.js --help: ${round(gutsHelp.median, 1)} ms (min ${round(gutsHelp.min, 1)})`,
)
details.coldStart = { nodeBaseline: nodeBase, gutsHelp }
figure({
  name: 'cold start: bin/run.js --help',
  unit: 'ms',
  guts: gutsHelp.median,
  baseline: nodeBase.median,
  target: '<= 300 ms',
  limit: 300,
})

if (process.env.BENCH_SKIP_BINARY !== '1') {
  try {
    const entry = join(root, 'dist', 'binary.js')
    if (!existsSync(binary) || (existsSync(entry) && statSync(entry).mtimeMs > statSync(binary).mtimeMs)) {
      log('  dist/guts is missing or older than dist/binary.js: building it (node scripts/build-binary.mjs)…')
      run('node', [join(root, 'scripts', 'build-binary.mjs')], { cwd: root })
    }
    const bunBase = existsSync(bun) ? timeStartup(bun, ['-e', '0'], 15) : undefined
    const binHelp = timeStartup(binary, ['--help'], 15)
    const base = bunBase ?? nodeBase
    log(
      `  ${bunBase ? 'bun -e 0' : 'node -e 0'}: ${round(base.median, 1)} ms   dist/guts --help: ${round(binHelp.median, 1)} ms (min ${round(binHelp.min, 1)})`,
    )
    details.coldStart.binary = { baseline: bunBase ? 'bun -e 0' : 'node -e 0', baselineMs: base, binHelp }
    figure({
      name: 'cold start: dist/guts --help',
      unit: 'ms',
      guts: binHelp.median,
      baseline: base.median,
      target: '<= 100 ms',
      limit: 100,
      note: `baseline: ${bunBase ? 'bun -e 0' : 'node -e 0'}`,
    })
  } catch (error) {
    log(`  single binary skipped: ${String(error.message).split('\n')[0]}`)
  }
}

// ---- 2. peak RSS on an 8 GiB sparse disk ----
section('2. Peak RSS migrating an 8 GiB sparse raw disk (verify off)')
const big = join(work, 'big8g.raw')
makeRaw(
  big,
  8 * GiB,
  [0, 2 * GiB + 123 * MiB, 5 * GiB, 8 * GiB - 4 * MiB].map((o) => [o, 4 * MiB]),
)
log(`  ${big}: 8 GiB virtual, ${round(allocated(big) / MiB, 1)} MiB allocated`)
{
  const { plan, env } = makePlan(join(work, 'rss'), { name: 'big', disks: [{ path: big, format: 'raw' }] })
  // qemu-img runs for well under 50 ms on a sparse disk, too short to sample: a `qemu-img` wrapper
  // first on PATH records each run's exact peak with GNU time.
  const children = TIME ? qemuImgWrapper(env) : undefined
  const timeOut = join(work, 'time-v.txt')
  const cmd = TIME ? [TIME, ['-v', '-o', timeOut, 'node', runJs, 'migrate', plan, '--json']] : ['node', [runJs, 'migrate', plan, '--json']]
  sync()
  const r = await spawnSampled(cmd[0], cmd[1], { env })
  transferSeconds(r.stdout) // throws unless the migration succeeded
  const nodePeak = peakOf(r, 'node')
  const timeMax = TIME ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeOut, 'utf8'))?.[1]) / 1024 : undefined
  const childRuns = children
    ? readFileSync(children, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => ({
          MiB: round(Number(l.split(' ')[0]) / 1024, 1),
          command: l
            .split(' ')
            .slice(1, 3)
            .join(' ')
            .replace(/^\S*\//, ''),
        }))
    : []
  const childPeak = childRuns.length ? Math.max(...childRuns.map((c) => c.MiB)) : peakOf(r, 'qemu-img')
  // Upper bound of the tree: node's peak plus the largest child's (they need not coincide).
  const treePeak = Math.max(r.treePeakMiB, nodePeak + childPeak)
  // Baselines: the same CLI doing nothing (`--help`), and plain qemu-img converting the same disk.
  const helpRss = maxRssMiB('node', [runJs, '--help']) ?? peakOf(await spawnSampled('node', [runJs, '--help']), 'node')
  const qdst = join(work, 'rss-baseline.qcow2')
  const qPeak =
    maxRssMiB('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', big, qdst]) ??
    peakOf(await spawnSampled('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', big, qdst]), 'qemu-img')
  rmSync(qdst, { force: true })
  log(
    `  guts migrate: ${round(r.seconds)} s; node peak (VmHWM, sampled every 50 ms) ${nodePeak} MiB; sampled tree peak (sum of RSS) ${r.treePeakMiB} MiB`,
  )
  if (childRuns.length) log(`  qemu-img runs inside guts (exact peaks): ${childRuns.map((c) => `${c.command} ${c.MiB}`).join(', ')} MiB`)
  if (timeMax) log(`  /usr/bin/time -v max RSS (largest single process of the tree): ${round(timeMax, 1)} MiB`)
  log(`  baselines: node bin/run.js --help ${round(helpRss, 1)} MiB; plain qemu-img convert ${round(qPeak, 1)} MiB`)
  details.rss = {
    nodePeakMiB: nodePeak,
    sampledTreePeakMiB: r.treePeakMiB,
    treePeakUpperBoundMiB: round(treePeak, 1),
    qemuImgRuns: childRuns,
    timeMaxRssMiB: round(timeMax, 1),
    helpRssMiB: round(helpRss, 1),
    qemuImgBaselineMiB: round(qPeak, 1),
    seconds: round(r.seconds),
  }
  figure({
    name: 'peak RSS: guts node process',
    unit: 'MiB',
    guts: nodePeak,
    baseline: helpRss,
    target: '<= 200 MiB',
    limit: 200,
    note: 'baseline: node bin/run.js --help',
  })
  figure({
    name: 'peak RSS: guts process tree',
    unit: 'MiB',
    guts: treePeak,
    baseline: qPeak,
    note: 'node peak + largest qemu-img peak (upper bound); baseline: plain qemu-img convert',
  })
  rmSync(join(work, 'rss'), { recursive: true, force: true })
}
if (process.env.BENCH_KEEP !== '1') rmSync(big, { force: true })

// ---- 3. sparse vs allocated ----
section('3. Sparse (8 GiB virtual, 256 MiB allocated) vs allocated (256 MiB) raw')
const sparse = makeRaw(
  join(work, 'sparse8g.raw'),
  8 * GiB,
  Array.from({ length: 16 }, (_, i) => [i * 512 * MiB + 7 * MiB, 16 * MiB]),
)
const full = makeRaw(join(work, 'full256m.raw'), 256 * MiB, [[0, 256 * MiB]])
log(`  sparse: ${round(allocated(sparse) / MiB, 1)} MiB allocated; full: ${round(allocated(full) / MiB, 1)} MiB allocated`)
for (const verify of [false, true]) {
  const tag = verify ? 'on' : 'off'
  const r = alternate(
    ROUNDS_SPARSE,
    (i) => gutsMigrate(join(work, `sp-${tag}-${i}`), [{ path: sparse, format: 'raw' }], verify).seconds,
    (i) => gutsMigrate(join(work, `fu-${tag}-${i}`), [{ path: full, format: 'raw' }], verify).seconds,
  )
  cleanup('sp-')
  cleanup('fu-')
  log(
    `  verify ${tag.padEnd(3)}: sparse ${r.a.map((x) => round(x)).join(', ')} s; allocated ${r.b.map((x) => round(x)).join(', ')} s; per-round ratios ${r.ratios.map((x) => round(x)).join(', ')}`,
  )
  details[`sparse_verify_${tag}`] = { sparse: r.a, allocated: r.b, ratios: r.ratios }
  const m = medianIndex(r.ratios)
  figure({
    name: `sparse vs allocated (verify ${tag})`,
    unit: 's',
    guts: r.a[m],
    baseline: r.b[m],
    ratio: r.ratios[m],
    target: '<= 2x',
    limit: 2,
    on: 'ratio',
    note: 'guts = 8G-virtual/256M-allocated disk, baseline = 256M allocated disk, both via guts; median round (by ratio)',
  })
}
if (process.env.BENCH_KEEP !== '1') {
  rmSync(sparse, { force: true })
  rmSync(full, { force: true })
}

// ---- 4. throughput vs plain qemu-img ----
section(`4. Throughput files -> local qcow2 vs plain qemu-img convert (1 GiB, ${ROUNDS_THROUGHPUT} alternating rounds)`)
if (ROUNDS_THROUGHPUT > 0) {
  const raw1g = makeRaw(join(work, 'rand1g.raw'), GiB, [[0, GiB]])
  const vmdk = join(work, 'rand1g.vmdk')
  const mk = run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw1g, vmdk])
  log(`  made ${vmdk} (streamOptimized) in ${round(mk.seconds, 1)} s`)
  // The same migration with `node bin/run.js` and, when built, the single binary (dist/guts): what
  // separates them is start-up (node + oclif + module loading vs one bundled executable).
  const clis = [
    ['node bin/run.js', ['node', runJs]],
    ...(process.env.BENCH_SKIP_BINARY || !existsSync(binary) ? [] : [['dist/guts', [binary]]]),
  ]
  for (const [label, path, format] of [
    ['raw', raw1g, 'raw'],
    ['streamOptimized vmdk', vmdk, 'vmdk'],
  ]) {
    for (const [cliName, cli] of clis) throughputRows(label, path, format, cliName, cli)
  }
}

/** One throughput comparison: `guts migrate` with `cli` vs plain qemu-img convert, alternating rounds. */
function throughputRows(label, path, format, cliName, cli) {
  const r = alternate(
    ROUNDS_THROUGHPUT,
    (i) => gutsMigrate(join(work, `tp-${i}`), [{ path, format }], false, cli),
    (i) => qemuConvert(path, format, join(work, `tp-baseline-${i}.qcow2`)),
    (x) => (typeof x === 'number' ? x : x.seconds),
  )
  cleanup('tp-')
  const g = r.a.map((x) => x.seconds)
  const gt = r.a.map((x) => x.transfer)
  const q = r.b
  const mibps = (s) => 1024 / s
  // r.ratios are time ratios guts/qemu-img; throughput ratios are their inverse.
  // The row shows the round with the median ratio, so guts / baseline / ratio agree.
  const m = medianIndex(r.ratios)
  const tr = gt.map((x, i) => x / q[i])
  const mt = medianIndex(tr)
  const tag = `${label}, ${cliName}`
  log(
    `  ${tag}: guts ${g.map((x) => round(x)).join(', ')} s (its qemu-img step ${gt.map((x) => round(x)).join(', ')} s); qemu-img ${q.map((x) => round(x)).join(', ')} s`,
  )
  log(
    `  ${tag}: best guts ${round(mibps(min(g)), 1)} MiB/s vs best qemu-img ${round(mibps(min(q)), 1)} MiB/s; guts fixed overhead (wall - transfer) median ${round(median(g.map((x, i) => x - gt[i])))} s`,
  )
  log(
    `  ${tag}: per-round throughput ratios end to end ${r.ratios.map((x) => round(1 / x)).join(', ')}; transfer only ${tr.map((x) => round(1 / x)).join(', ')}`,
  )
  details[`throughput_${format}_${cliName}`] = { guts: g, gutsTransferOnly: gt, qemuImg: q, timeRatios: r.ratios, transferTimeRatios: tr }
  figure({
    name: `throughput ${label} (end to end, ${cliName})`,
    unit: 'MiB/s',
    guts: mibps(g[m]),
    baseline: mibps(q[m]),
    target: '>= 0.9x',
    limit: 0.9,
    better: 'higher',
    on: 'ratio',
    note: 'guts wall time incl. start-up, plan load, state, qemu-img info/check; median round',
  })
  figure({
    name: `throughput ${label} (transfer only, ${cliName})`,
    unit: 'MiB/s',
    guts: mibps(gt[mt]),
    baseline: mibps(q[mt]),
    note: "guts' own disk.done seconds; median round",
  })
}

// ---- 5. Glance upload: driver vs curl -T (only with the OpenStack lab) ----
section('5. Glance upload throughput: OpenStack driver vs curl -T (512 MiB random raw, median of 3 alternating rounds)')
details.glance = await glanceUpload({ work, log, figure })

// ---- 6. vSphere cold export, 7. vm list of 1,000 VMs (only with the vcsim lab; bench/vmware.mjs) ----
details.vmware = await vmwareBench({ root, work, log, section, figure })

// ---- 9. Hyper-V VHDX read over SFTP, 10. vm list of 1,000 VMs, 11. warm delta (only with the Hyper-V lab; bench/hyperv.mjs) ----
details.hyperv = await hypervBench({ root, work, log, section, figure })

// ---- summary ----
section(`Summary (total ${elapsed()})`)
const head = ['figure', 'unit', 'guts', 'baseline', 'ratio', 'target', 'result']
const table = [head, ...rows.map((r) => [r.figure, r.unit, r.guts, r.baseline, r.ratio, r.target, r.result].map((c) => String(c ?? '-')))]
const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)))
const line = (r) => r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')
log(line(table[0]))
log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of table.slice(1)) log(line(r))
const misses = rows.filter((r) => r.result === 'MISS').length
log(misses ? `\n${misses} MISS (benchmarks inform; exit status stays 0)` : '\nall targets met')
writeFileSync(
  join(work, 'results.json'),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, seconds: (Date.now() - started) / 1000, rows, details }, null, 2)}\n`,
)
log(`results: ${join('bench', '.work', 'results.json')}`)
