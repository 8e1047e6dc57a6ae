// Figures 6 and 7: the vSphere source against vcsimx instances of its own (the default lab on
// 8989 is never touched). Runs when GUTS_LAB_VCSIM is set (the lab is built and in use);
// otherwise prints "skipped: no lab". Run alone with `node bench/vmware.mjs` (after `npm run build`).
//   6. cold export throughput: `guts migrate` of a powered-off VM (ExportVm -> NFC lease ->
//      streamOptimized VMDK decoded on the fly) to a local raw file, against curl of the same
//      lease URL to a file followed by `qemu-img convert -f vmdk -O raw`.
//   7. `guts vm list --source <plan> --json` of 1,000 VMs, against one raw RetrievePropertiesEx
//      (name + runtime.powerState of every VM) sent by curl.
// Each instance gets its own state dir and port, reuses the default lab's vcsimx binary (copied,
// so nothing is rebuilt) and is stopped (test/lab/vcsim-lab.sh down, by its recorded pid) at the end.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VimClient, envelope } from './vim-client.mjs'
import { deltaSyncBench } from './warm-delta.mjs'
import { MiB, alternate, median, medianIndex, round, run, sync, transferSeconds } from './lib.mjs'

const ROUNDS_EXPORT = Number(process.env.BENCH_ROUNDS_VMWARE ?? 3)
const ROUNDS_LIST = Number(process.env.BENCH_ROUNDS_VMLIST ?? 5)
const DISK_MB = Number(process.env.BENCH_VCSIM_DISK_MB ?? 1024)
const STATE_ROOT = process.env.BENCH_VCSIM_STATE_ROOT ?? '/var/tmp/guts-lab'
const EXPORT_LAB = {
  state: join(STATE_ROOT, 'vcsim-bench'),
  port: Number(process.env.BENCH_VCSIM_EXPORT_PORT ?? 8993),
  flags: `-disk-mb ${DISK_MB} -cluster 0 -vm 1`,
}
const LIST_LAB = {
  state: join(STATE_ROOT, 'vcsim-bench1k'),
  port: Number(process.env.BENCH_VCSIM_LIST_PORT ?? 8994),
  flags: '-dc 4 -cluster 4 -host 8 -vm 50 -pool 2',
}
const VM = 'DC0_H0_VM0'

/**
 * Figures 6 and 7 (and the place where the delta-sync figure will go). `figure` and `log` are
 * run.mjs's. Returns the raw measurements for results.json. A lab that does not start is reported
 * and sets a non-zero exit status, but does not stop the other figures or the summary table.
 */
export async function vmwareBench({ root, work, log, section, figure }) {
  section(
    `6. vSphere cold export ${DISK_MB} MiB -> local raw: guts vs curl + qemu-img convert (vcsimx, ${ROUNDS_EXPORT} alternating rounds)`,
  )
  if (!process.env.GUTS_LAB_VCSIM) {
    log('  skipped: no lab (start it with test/lab/vcsim-lab.sh up, then eval "$(test/lab/vcsim-lab.sh env)")')
    section('7. guts vm list of 1,000 VMs vs one RetrievePropertiesEx by curl (vcsimx)')
    log('  skipped: no lab')
    section('8. warm migration delta sync (vcsimx)')
    log('  skipped: no lab')
    return undefined
  }
  const details = {}
  const script = join(root, 'test', 'lab', 'vcsim-lab.sh')
  const guarded = async (name, fn) => {
    try {
      return await fn()
    } catch (error) {
      log(`  FAILED: ${String(error.message).split('\n').slice(0, 6).join('\n    ')}`)
      process.exitCode = 1
      return { error: String(error.message).slice(0, 2000) }
    }
  }
  const shared = {}
  // BENCH_VMWARE_FIGURES=8 (or 6,7) runs only those figures.
  const only = (process.env.BENCH_VMWARE_FIGURES ?? '6,7,8').split(',')
  if (only.includes('6'))
    details.export = await guarded('export', () =>
      withLab(script, EXPORT_LAB, log, (lab) => coldExport({ root, work, log, figure, lab, shared })),
    )
  if (only.includes('8')) section('8. warm migration delta sync: bytes moved vs bytes changed, and the cutover downtime (vcsimx)')
  if (only.includes('8'))
    details.delta = await guarded('delta', () =>
      withLab(script, EXPORT_LAB, log, (lab) => deltaSyncBench({ root, work, log, figure, lab })),
    )

  if (only.includes('7')) section('7. guts vm list of 1,000 VMs vs one RetrievePropertiesEx by curl (vcsimx)')
  if (only.includes('7'))
    details.list = await guarded('list', () => withLab(script, LIST_LAB, log, (lab) => vmList({ root, work, log, figure, lab, shared })))
  return details
}

// ---- 6. cold export ----

async function coldExport({ root, work, log, figure, lab, shared }) {
  const dir = join(work, 'vmware-export')
  mkdirSync(dir, { recursive: true })
  const soap = await VimClient.login(lab)
  const vm = await soap.findVm(`DC0/vm/${VM}`)
  await soap.powerOff(vm)
  const plan = writePlan(join(dir, 'plan.yaml'), lab, { directory: join(dir, 'out'), vms: [VM] })
  const env = labEnv(lab)
  const MiBs = DISK_MB
  // For figure 7: what `guts vm list` costs on a 1-VM vCenter (start-up, plan, login, tree): its fixed part.
  const listRuns = Array.from(
    { length: 6 },
    () =>
      run('node', [join(root, 'bin', 'run.js'), 'vm', 'list', '--source', plan, '--json'], {
        env: { ...env, GUTS_DATA_DIR: join(dir, 'data-list') },
      }).seconds * 1000,
  )
  shared.listOneVmMs = median(listRuns.slice(1))

  /** guts migrate, end to end; plus its own disk.done seconds. Fresh destination and data dir. */
  const viaGuts = (i) => {
    const out = join(dir, 'out')
    rmSync(out, { recursive: true, force: true })
    sync()
    const r = run('node', [join(root, 'bin', 'run.js'), 'migrate', plan, '--json'], {
      env: { ...env, GUTS_DATA_DIR: join(dir, `data-${i}`) },
    })
    const disk = readdirSync(join(out, VM)).find((f) => f.endsWith('.raw'))
    return { seconds: r.seconds, transfer: transferSeconds(r.stdout), output: join(out, VM, disk) }
  }
  /** ExportVm, lease info, curl of the disk URL to a file, Complete, qemu-img convert -f vmdk -O raw. */
  const viaCurl = async (i) => {
    const vmdk = join(dir, `baseline-${i}.vmdk`)
    const output = join(dir, `baseline-${i}.raw`)
    sync()
    const t0 = performance.now()
    const lease = await soap.exportVm(vm)
    const url = (await soap.leaseDiskUrls(lease))[0]
    const c = spawnSync('curl', ['-sk', '--fail', '-o', vmdk, '-w', '%{time_total} %{size_download}', url], { encoding: 'utf8' })
    if (c.status !== 0) throw new Error(`curl ${url} failed (exit ${c.status}): ${c.stderr}`)
    await soap.leaseComplete(lease)
    const tq = performance.now()
    run('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', vmdk, output])
    const seconds = (performance.now() - t0) / 1000
    const [curlSeconds, bytes] = c.stdout.trim().split(' ').map(Number)
    rmSync(vmdk, { force: true })
    return { seconds, curl: curlSeconds, convert: (performance.now() - tq) / 1000, streamBytes: bytes, output }
  }

  const g = []
  const b = []
  let same
  try {
    for (let i = 0; i < ROUNDS_EXPORT; i++) {
      if (i % 2) {
        b.push(await viaCurl(i))
        g.push(viaGuts(i))
      } else {
        g.push(viaGuts(i))
        b.push(await viaCurl(i))
      }
      // Once: both sides must have produced the same disk (qemu-img compare; untimed).
      if (i === 0) same = spawnSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'raw', g[0].output, b[0].output]).status === 0
      for (const f of readdirSync(dir)) if (/^(baseline-|data-|out$)/.test(f)) rmSync(join(dir, f), { recursive: true, force: true })
      sync()
    }
  } finally {
    await soap.logout()
  }
  const mibps = (s) => MiBs / s
  const ratios = g.map((x, i) => mibps(x.seconds) / mibps(b[i].seconds))
  const tratios = g.map((x, i) => mibps(x.transfer) / mibps(b[i].seconds))
  log(
    `  disk: ${DISK_MB} MiB virtual (${DISK_MB * 0.75} MiB of random data, a quarter holes), streamOptimized download ${round(b[0].streamBytes / MiB, 1)} MiB; guts output ${same ? 'identical to' : 'DIFFERENT from'} the baseline's (qemu-img compare)`,
  )
  log(`  guts migrate: ${g.map((x) => round(x.seconds)).join(', ')} s (disk.done ${g.map((x) => round(x.transfer)).join(', ')} s)`)
  log(
    `  curl + qemu-img: ${b.map((x) => round(x.seconds)).join(', ')} s (curl ${b.map((x) => round(x.curl)).join(', ')} s, convert ${b.map((x) => round(x.convert)).join(', ')} s)`,
  )
  log(
    `  per-round throughput ratios end to end ${ratios.map((x) => round(x)).join(', ')}; transfer only ${tratios.map((x) => round(x)).join(', ')}; guts fixed overhead (wall - transfer) median ${round(median(g.map((x) => x.seconds - x.transfer)))} s`,
  )
  if (!same) process.exitCode = 1
  const m = medianIndex(ratios)
  const mt = medianIndex(tratios)
  figure({
    name: `vmware cold export ${DISK_MB} MiB -> raw (end to end)`,
    unit: 'MiB/s',
    guts: mibps(g[m].seconds),
    baseline: mibps(b[m].seconds),
    ratio: ratios[m],
    target: '>= 0.9x',
    limit: 0.9,
    better: 'higher',
    on: 'ratio',
    note: 'guts migrate wall time vs ExportVm + curl to file + qemu-img convert -f vmdk; median round',
  })
  figure({
    name: `vmware cold export ${DISK_MB} MiB -> raw (transfer only)`,
    unit: 'MiB/s',
    guts: mibps(g[mt].transfer),
    baseline: mibps(b[mt].seconds),
    ratio: tratios[mt],
    note: "guts' disk.done seconds vs the same baseline; median round",
  })
  return {
    diskMiB: DISK_MB,
    identical: same,
    guts: g.map(({ output: _o, ...x }) => x),
    baseline: b.map(({ output: _o, ...x }) => x),
    ratios,
    transferRatios: tratios,
  }
}

// ---- 7. vm list of 1,000 VMs ----

async function vmList({ root, work, log, figure, lab, shared }) {
  const dir = join(work, 'vmware-list')
  mkdirSync(dir, { recursive: true })
  const plan = writePlan(join(dir, 'plan.yaml'), lab, { directory: join(dir, 'out'), vms: [VM] })
  const env = { ...labEnv(lab), GUTS_DATA_DIR: join(dir, 'data') }
  const soap = await VimClient.login(lab)
  const view = await soap.containerView('VirtualMachine')
  // The baseline request as a file: curl sends it with the session cookie, as a shell script would.
  const body = join(dir, 'retrieve.xml')
  writeFileSync(
    body,
    envelope(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="ContainerView">${view}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options></options></RetrievePropertiesEx>`,
    ),
  )
  const cookie = join(dir, 'cookie')
  writeFileSync(cookie, `127.0.0.1\tFALSE\t/\tFALSE\t0\tvmware_soap_session\t${soap.session}\n`)

  const viaGuts = () => {
    const r = run('node', [join(root, 'bin', 'run.js'), 'vm', 'list', '--source', plan, '--json'], { env })
    const n = JSON.parse(r.stdout).length
    if (n !== 1000) throw new Error(`guts vm list returned ${n} VMs, expected 1000`)
    return r.seconds * 1000
  }
  const viaCurl = () => {
    const r = run('curl', [
      '-sk',
      '--fail',
      '-b',
      cookie,
      '-H',
      'Content-Type: text/xml; charset=utf-8',
      '-H',
      'SOAPAction: "urn:vim25/6.5"',
      '--data-binary',
      `@${body}`,
      lab.url,
    ])
    const n = (r.stdout.match(/<objects[\s>]/g) ?? []).length
    if (n !== 1000) throw new Error(`RetrievePropertiesEx returned ${n} objects, expected 1000: ${r.stdout.slice(0, 400)}`)
    return r.seconds * 1000
  }
  let r
  try {
    viaGuts() // warm-ups: page cache, vcsim's first-listing costs
    viaCurl()
    r = alternate(ROUNDS_LIST, viaGuts, viaCurl)
  } finally {
    await soap.logout()
  }
  const nodeStart = median(Array.from({ length: 5 }, () => run('node', ['-e', '0']).seconds * 1000))
  const m = medianIndex(r.ratios)
  log(
    `  guts vm list --json (1,000 VMs): ${r.a.map((x) => round(x, 0)).join(', ')} ms; curl RetrievePropertiesEx: ${r.b.map((x) => round(x, 0)).join(', ')} ms; node -e 0: ${round(nodeStart, 0)} ms`,
  )
  const one = shared.listOneVmMs
  log(
    `  guts median ${round(median(r.a), 0)} ms: node start-up ${round(nodeStart, 0)} ms${one ? `; the same listing of a 1-VM vCenter (figure 6's instance) ${round(one, 0)} ms, so ~${round(median(r.a) - one, 0)} ms are the 1,000 VMs` : ''}; per-round ratios ${r.ratios.map((x) => round(x, 1)).join(', ')}`,
  )
  figure({
    name: 'vm list 1,000 VMs --json',
    unit: 'ms',
    guts: r.a[m],
    baseline: r.b[m],
    ratio: r.ratios[m],
    note: 'baseline: one RetrievePropertiesEx (name, runtime.powerState) over a ContainerView by curl, session made beforehand; median round',
  })
  return { guts: r.a, curl: r.b, ratios: r.ratios, nodeStartMs: nodeStart, listOneVmMs: one }
}

// ---- lab instances ----

/** Starts a vcsimx instance (own state dir and port), runs `fn(labInfo)`, always stops it. */
async function withLab(script, spec, log, fn) {
  reuseBinary(spec.state)
  const env = { ...process.env, GUTS_LAB_STATE_VCSIM: spec.state, GUTS_LAB_VCSIM_PORT: String(spec.port), GUTS_LAB_VCSIM_FLAGS: spec.flags }
  try {
    const t0 = performance.now()
    run('bash', [script, 'up'], { env })
    const lab = JSON.parse(readFileSync(join(spec.state, 'run', 'vcsim.json'), 'utf8'))
    log(
      `  vcsimx ${spec.flags} on port ${spec.port} (state ${spec.state}): up in ${round((performance.now() - t0) / 1000, 1)} s, pid ${lab.pid}`,
    )
    return await fn(lab)
  } finally {
    const d = spawnSync('bash', [script, 'down'], { env, encoding: 'utf8' })
    log(
      `  vcsimx on port ${spec.port}: ${d.status === 0 ? (d.stderr.trim().split('\n').pop() ?? '').replace(/^vcsim-lab: /, '') : `down failed: ${d.stderr}`}`,
    )
  }
}

/** Copies bin/vcsimx (and its build stamp) from the default lab's state dir, so `up` builds nothing. */
function reuseBinary(state) {
  const from = process.env.GUTS_LAB_STATE_VCSIM ?? dirname(dirname(process.env.GUTS_LAB_VCSIM))
  const src = join(from, 'bin', 'vcsimx')
  const dst = join(state, 'bin', 'vcsimx')
  if (!existsSync(src) || src === dst) return
  if (existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs) return
  mkdirSync(join(state, 'bin'), { recursive: true })
  copyFileSync(src, `${dst}.tmp`)
  spawnSync('mv', ['-f', `${dst}.tmp`, dst])
  spawnSync('chmod', ['+x', dst])
  if (existsSync(`${src}.stamp`)) copyFileSync(`${src}.stamp`, `${dst}.stamp`)
}

/** The environment guts runs with: the password only as the plan's ${env:…}, no govc variables. */
function labEnv(lab) {
  const env = { ...process.env, BENCH_VC_PASSWORD: lab.password }
  for (const k of Object.keys(env)) if (k.startsWith('GOVC_')) delete env[k]
  return env
}

/** A plan: the lab's vmware source (password from ${env:BENCH_VC_PASSWORD}) -> local raw, verify off. */
function writePlan(path, lab, { directory, vms }) {
  const q = JSON.stringify
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(
    path,
    [
      'version: 1',
      'name: bench-vmware',
      'source:',
      '  driver: vmware',
      `  url: ${q(lab.url)}`,
      `  username: ${q(lab.username)}`,
      '  password: "${env:BENCH_VC_PASSWORD}"',
      `  thumbprint: ${q(lab.thumbprint)}`,
      'destination:',
      '  driver: local',
      `  directory: ${q(directory)}`,
      '  format: raw',
      'defaults: { mode: cold, powerOff: refuse }',
      'policy: { verify: false }',
      'vms:',
      ...vms.map((v) => `  - name: ${q(v)}`),
      '',
    ].join('\n'),
  )
  return path
}

// Standalone: `node bench/vmware.mjs` prints figures 6, 7 and 8 only.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  const work = join(root, 'bench', '.work', 'vmware')
  mkdirSync(work, { recursive: true })
  const log = (...a) => console.log(...a)
  const rows = []
  const figure = (f) => {
    const ratio = f.ratio ?? f.guts / f.baseline
    const result = f.limit == null ? 'info' : (f.better === 'higher' ? ratio >= f.limit : ratio <= f.limit) ? 'PASS' : 'MISS'
    rows.push([f.name, f.unit, round(f.guts), round(f.baseline), round(ratio), f.target ?? '-', result])
    log(
      `  -> ${f.name}: guts ${round(f.guts)} ${f.unit}, baseline ${round(f.baseline)} ${f.unit}, ratio ${round(ratio)} [${result}${f.target ? `, target ${f.target}` : ''}]`,
    )
  }
  try {
    await vmwareBench({ root, work, log, section: (t) => log(`\n== ${t} ==`), figure })
    log('')
    for (const r of rows) log(r.join('  '))
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
