// Small helpers for bench/run.mjs: timing, statistics, process-tree memory sampling, test images
// and guts plans. Plain ESM, Node built-ins only.
import { spawn, spawnSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export const MiB = 2 ** 20
export const GiB = 2 ** 30

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
/** Index of the median element (the lower middle for an even count). */
export const medianIndex = (xs) => {
  const order = xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0])
  return order[(order.length - 1) >> 1][1]
}
export const min = (xs) => Math.min(...xs)
export const round = (x, digits = 2) => (x == null || Number.isNaN(x) ? null : Number(x.toFixed(digits)))

/** Runs a command to completion, throwing on a non-zero exit; returns wall seconds and output. */
export function run(cmd, args, { env, cwd, quiet = true } = {}) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { env: env ?? process.env, cwd, encoding: 'utf8', stdio: quiet ? 'pipe' : 'inherit', maxBuffer: 64 * MiB })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stderr ?? ''}${r.stdout ?? ''}`.slice(0, 4000))
  return { seconds, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** Median wall time (ms) of `n` runs of a command after `warmup` untimed runs. */
export function timeStartup(cmd, args, n, warmup = 2) {
  for (let i = 0; i < warmup; i++) run(cmd, args)
  const ms = []
  for (let i = 0; i < n; i++) ms.push(run(cmd, args).seconds * 1000)
  return { median: median(ms), min: min(ms), runs: ms.map((x) => round(x, 1)) }
}

/**
 * Runs `a` and `b` `rounds` times, alternating which goes first (ABBA…), and returns their results
 * plus the per-round ratio a/b of `key(result)`: comparing neighbours cancels slow drifts of the
 * machine (the disk of this VM varies several-fold over tens of seconds).
 */
export function alternate(rounds, a, b, key = (x) => x) {
  const ra = []
  const rb = []
  for (let i = 0; i < rounds; i++) {
    if (i % 2) {
      rb.push(b(i))
      ra.push(a(i))
    } else {
      ra.push(a(i))
      rb.push(b(i))
    }
  }
  return { a: ra, b: rb, ratios: ra.map((x, i) => key(x) / key(rb[i])) }
}

/** Flushes dirty pages so one run's writeback does not land in the next run's timing. */
export const sync = () => spawnSync('sync')

// ---- process-tree memory sampling (/proc) ----

function readProcTable() {
  const table = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const ppid = Number(stat.slice(close + 2).split(' ')[1])
      table.set(Number(name), { ppid, comm })
    } catch {
      // the process exited while we looked
    }
  }
  return table
}

function descendants(root, table) {
  const out = [root]
  for (let i = 0; i < out.length; i++) for (const [pid, p] of table) if (p.ppid === out[i]) out.push(pid)
  return out
}

function memKiB(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) }
  } catch {
    return undefined
  }
}

/**
 * Spawns a command and samples its process tree every `intervalMs`: per-process peak (VmHWM) and
 * the peak of the summed VmRSS of the whole tree. Resolves with wall seconds, stdout and the peaks
 * in MiB. `perProcess` maps "comm" to its largest VmHWM seen.
 */
export function spawnSampled(cmd, args, { env, intervalMs = 50 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const hwm = new Map() // pid -> { comm, kib }
    let treePeakKiB = 0
    const sample = () => {
      const table = readProcTable()
      let sum = 0
      for (const pid of descendants(child.pid, table)) {
        const m = memKiB(pid)
        if (!m) continue
        sum += m.rss
        const prev = hwm.get(pid)
        if (!prev || m.hwm > prev.kib) hwm.set(pid, { comm: table.get(pid)?.comm ?? '?', ppid: table.get(pid)?.ppid, kib: m.hwm })
      }
      treePeakKiB = Math.max(treePeakKiB, sum)
    }
    const timer = setInterval(sample, intervalMs)
    sample()
    child.on('error', (e) => {
      clearInterval(timer)
      reject(e)
    })
    child.on('close', (code) => {
      clearInterval(timer)
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${stderr}${stdout}`.slice(0, 4000)))
      const perProcess = {}
      for (const { comm, kib } of hwm.values()) perProcess[comm] = Math.max(perProcess[comm] ?? 0, round(kib / 1024, 1))
      resolve({ seconds, stdout, stderr, rootPid: child.pid, hwm, treePeakMiB: round(treePeakKiB / 1024, 1), perProcess })
    })
  })
}

/** Peak RSS (MiB) of the first process named `comm` in a sampled tree. */
export function peakOf(result, comm) {
  let kib = 0
  for (const p of result.hwm.values()) if (p.comm === comm) kib = Math.max(kib, p.kib)
  return round(kib / 1024, 1)
}

// ---- images ----

/** Writes `bytes` of random data at `offset` in an existing file, 16 MiB at a time. */
export function writeRandom(path, offset, bytes) {
  const fd = openSync(path, 'r+')
  const buf = Buffer.allocUnsafe(16 * MiB)
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(buf.length, bytes - done)
      randomFillSync(buf, 0, n)
      writeSync(fd, buf, 0, n, offset + done)
      done += n
    }
  } finally {
    closeSync(fd)
  }
}

/** A raw image of `virtual` bytes with random data in `extents` ([offset, length] pairs). */
export function makeRaw(path, virtual, extents) {
  rmSync(path, { force: true })
  run('qemu-img', ['create', '-q', '-f', 'raw', path, String(virtual)])
  for (const [offset, length] of extents) writeRandom(path, offset, length)
  return path
}

/** Allocated bytes of a file (st_blocks * 512), from `du`-like stat. */
export function allocated(path) {
  return Number(
    run('stat', ['-c', '%b*%B', path])
      .stdout.trim()
      .split('*')
      .reduce((a, b) => a * Number(b), 1),
  )
}

// ---- guts ----

/**
 * Writes a plan migrating one VM made of `disks` ([{path, format}]) to local qcow2 under `outDir`,
 * with a fresh GUTS_DATA_DIR; returns { plan, env }. JSON strings are valid YAML scalars.
 */
export function makePlan(dir, { name = 'bench', disks, verify = false }) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const q = JSON.stringify
  const plan = join(dir, 'plan.yaml')
  writeFileSync(
    plan,
    [
      'version: 1',
      `name: ${q(name)}`,
      'source:',
      '  driver: files',
      '  vms:',
      `    - name: ${q(name)}`,
      '      disks:',
      ...disks.map((d) => `        - { path: ${q(d.path)}, format: ${q(d.format)} }`),
      'destination:',
      '  driver: local',
      `  directory: ${q(join(dir, 'out'))}`,
      '  format: qcow2',
      'policy:',
      `  verify: ${verify}`,
      'vms:',
      `  - name: ${q(name)}`,
      '',
    ].join('\n'),
  )
  return { plan, env: { ...process.env, GUTS_DATA_DIR: join(dir, 'data') } }
}

/** Seconds qemu-img spent per disk according to guts' own `disk.done` events. */
export function transferSeconds(ndjson) {
  let s = 0
  for (const line of ndjson.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const e = JSON.parse(line)
      if (e.type === 'disk.done') s += e.seconds
      if (e.type === 'migration.finished' && e.status !== 'succeeded') throw new Error(`migration ${e.status}: ${ndjson.slice(-2000)}`)
    } catch (err) {
      if (err instanceof SyntaxError) continue
      throw err
    }
  }
  return s
}

/**
 * Runs a warm `guts migrate <plan> --json` and steps it: after the full sync, and after each delta
 * sync that moved something, the next round of guest writes (`writeRound(writes)`), and after the
 * last round `guts migration cutover`. Returns every vm.sync event tagged with the round it followed
 * (`phase`), and the vm.downtime event.
 */
export async function warmRounds({ root, plan, env, rounds, writeRound }) {
  const { spawn, spawnSync } = await import('node:child_process')
  const { join } = await import('node:path')
  const syncs = []
  let downtime
  let phase = -1
  await new Promise((resolve, reject) => {
    const child = spawn('node', [join(root, 'bin', 'run.js'), 'migrate', plan, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let err = ''
    let id
    let busy = false
    const next = async () => {
      phase++
      busy = true
      try {
        if (phase < rounds.length) await writeRound(rounds[phase])
        else spawnSync('node', [join(root, 'bin', 'run.js'), 'migration', 'cutover', id], { env, encoding: 'utf8' })
      } finally {
        busy = false
      }
    }
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        if (e.error) err += JSON.stringify(e.error)
        if (e.type === 'migration.started') id = e.migrationId
        if (e.type === 'vm.downtime') downtime = e
        if (e.type !== 'vm.sync') continue
        syncs.push({ ...e, phase })
        // Next round once the previous round's writes were synced (or after the full sync).
        if (!busy && (e.kind === 'full' || (e.kind === 'delta' && e.bytesChanged > 0))) next().catch(reject)
      }
    })
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`guts migrate exited ${code}: ${err.slice(-1500)}`))))
  })
  return { syncs, downtime }
}
