// Figures 9, 10 and 11: the Hyper-V source against the emulated Hyper-V lab (test/lab/hyperv-lab.sh:
// a private sshd in front of pwsh 7 with a Hyper-V module, SFTP through the real sftp-server).
// Runs when GUTS_LAB_HYPERV names the lab's hyperv.json (`eval "$(test/lab/hyperv-lab.sh env)"`);
// otherwise prints "skipped: no lab". Run alone with `node bench/hyperv.mjs` (after `npm run build`).
//   9. VHDX read throughput over SFTP: the driver's own transport and reader in this process
//      (SshConnection and the export's diskSource: SFTP, openDisk, rawStream as the driver sets it up) draining a 1 GiB dynamic
//      VHDX, against OpenSSH's `sftp -R 64 -B 262144` fetching the same file to /dev/null.
//  10. `guts vm list --source <plan> --json` of the big lab host's 1,000 VMs (absolute target),
//      with what a bare `ssh … powershell.exe -EncodedCommand` costs on this lab for context.
//  11. A warm migration's delta syncs through Resilient Change Tracking against the bytes the guest
//      changed, and the cutover downtime (bench/hyperv-warm.mjs).
// The bench disk is made once under the lab's C: tree (C:\bench\bench.vhdx, owned by the lab user
// like the lab's other disks) and removed at the end unless BENCH_KEEP=1.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GiB, MiB, makeRaw, median, medianIndex, round, run } from './lib.mjs'
import { hypervDeltaBench } from './hyperv-warm.mjs'

const ROUNDS_READ = Number(process.env.BENCH_ROUNDS_HYPERV ?? 3)
const ROUNDS_LIST = Number(process.env.BENCH_ROUNDS_HVLIST ?? 5)
/** The bench disk: 1 GiB virtual, Hyper-V's default 32 MiB blocks, 17 of the 32 blocks holding a 30 MiB random run. */
const VIRTUAL = GiB
const BLOCK = 32 * MiB
const RUN = 30 * MiB
const BLOCKS_USED = 17
const WIN_DIR = 'C:\\bench'
const WIN_PATH = `${WIN_DIR}\\bench.vhdx`
const SFTP_PATH = '/C:/bench/bench.vhdx'

/**
 * Figures 9, 10 and 11. `figure`, `log` and `section` are run.mjs's. Returns the raw measurements for
 * results.json. A figure that breaks is reported and sets a non-zero exit status, but does not stop
 * the other figure or the summary table.
 */
export async function hypervBench({ root, work, log, section, figure }) {
  const title9 = `9. Hyper-V VHDX read over SFTP: driver transport + reader vs sftp -R 64 -B 262144 (1 GiB dynamic VHDX, ${ROUNDS_READ} alternating rounds)`
  const title10 = `10. guts vm list of 1,000 VMs on the big Hyper-V lab host (median of ${ROUNDS_LIST} after 1 warm-up)`
  const title11 = '11. Hyper-V warm migration (RCT): delta bytes moved vs bytes the guest changed, cutover downtime'
  section(title9)
  if (!process.env.GUTS_LAB_HYPERV) {
    log('  skipped: no lab (start it with test/lab/hyperv-lab.sh up, then eval "$(test/lab/hyperv-lab.sh env)")')
    for (const t of [title10, title11]) {
      section(t)
      log('  skipped: no lab')
    }
    return undefined
  }
  const lab = JSON.parse(readFileSync(process.env.GUTS_LAB_HYPERV, 'utf8'))
  const dir = join(work, 'hyperv')
  mkdirSync(dir, { recursive: true })
  const details = {}
  const guarded = async (fn) => {
    try {
      return await fn()
    } catch (error) {
      log(
        `  FAILED: ${String(error.stack ?? error.message)
          .split('\n')
          .slice(0, 8)
          .join('\n    ')}`,
      )
      process.exitCode = 1
      return { error: String(error.message).slice(0, 2000) }
    }
  }
  try {
    details.read = await guarded(() => readThroughput({ dir, lab, log, figure }))
    section(title10)
    details.list = await guarded(() => vmList({ root, dir, lab, log, figure }))
    section(title11)
    details.warm = await guarded(() => hypervDeltaBench({ root, work: dir, log, figure, lab }))
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true })
  }
  return details
}

// ---- 9. VHDX read throughput ----

async function readThroughput({ dir, lab, log, figure }) {
  const T = await import('@guts/driver-hyperv/testing')
  const { silentLogger } = await import('@guts/sdk')
  const disk = makeBenchDisk(lab, dir, log)
  try {
    const settings = sshSettings(lab, lab.port)
    // The allocated bytes (the figure's unit), read once outside the timed rounds.
    const allocatedBytes = await (async () => {
      const ssh = new T.SshConnection(settings, silentLogger)
      try {
        const file = await T.SftpFile.open(await ssh.sftp(), WIN_PATH, lab.host)
        const n = (await T.openDisk([file])).allocatedBytes
        await file.close()
        return n
      } finally {
        await ssh.close()
      }
    })()
    /**
     * The driver's read path, as its export does it: one SSH connection, then the export's disk
     * source (SFTP open, the VHDX tables read, rawStream as the driver sets it up) drained to the
     * end. Timed from the connection (the sftp baseline pays its handshake too); `drain` is the
     * stream alone. With `hash`, sha256 of every byte of the raw disk (zeros too), which is what the
     * core does with a disk stream.
     */
    const viaGuts = async (hash) => {
      const t0 = performance.now()
      const ssh = new T.SshConnection(settings, silentLogger)
      try {
        // The very disk source an export hands the core (driver defaults: 32 reads in flight).
        const src = await T.diskSource({ chain: [WIN_PATH], virtualSize: GiB, format: 'vhdx' }, 'bench disk', {
          ssh,
          host: lab.host,
          log: silentLogger,
          readConcurrency: 32,
        })
        const t1 = performance.now()
        const h = hash ? createHash('sha256') : undefined
        let bytes = 0
        for await (const chunk of await src.open(new AbortController().signal)) {
          bytes += chunk.length
          h?.update(chunk)
        }
        const t2 = performance.now()
        await src.close()
        if (bytes !== GiB) throw new Error(`the disk stream gave ${bytes} bytes of a ${GiB}-byte disk`)
        return {
          seconds: (t2 - t0) / 1000,
          drainSeconds: (t2 - t1) / 1000,
          openSeconds: (t1 - t0) / 1000,
          allocatedBytes,
          ...(h ? { sha256: h.digest('hex') } : {}),
        }
      } finally {
        await ssh.close()
      }
    }
    /** OpenSSH's sftp client, 64 requests of 256 KiB in flight, the whole file to /dev/null; the process's wall time. */
    const batch = join(dir, 'sftp-batch.txt')
    writeFileSync(batch, `get "${SFTP_PATH}" /dev/null\n`)
    const viaSftp = () => {
      const r = run('sftp', [
        '-q',
        '-R',
        '64',
        '-B',
        '262144',
        '-b',
        batch,
        '-P',
        String(lab.port),
        ...sshOptions(lab),
        `${lab.username}@${lab.host}`,
      ])
      if (/error|fail/i.test(r.stderr)) throw new Error(`sftp: ${r.stderr.slice(0, 400)}`)
      return { seconds: r.seconds }
    }

    // Warm-ups (untimed): the file into the page cache, the lab's first-session costs, JIT.
    await viaGuts(false)
    viaSftp()
    const g = []
    const b = []
    const h = []
    for (let i = 0; i < ROUNDS_READ; i++) {
      if (i % 2) {
        b.push(viaSftp())
        g.push(await viaGuts(false))
      } else {
        g.push(await viaGuts(false))
        b.push(viaSftp())
      }
      h.push(await viaGuts(true))
    }
    const alloc = g[0].allocatedBytes
    const gMiBs = g.map((x) => alloc / MiB / x.seconds)
    const gDrainMiBs = g.map((x) => alloc / MiB / x.drainSeconds)
    const hMiBs = h.map((x) => alloc / MiB / x.seconds)
    const bMiBs = b.map((x) => disk.fileBytes / MiB / x.seconds)
    const ratios = gMiBs.map((x, i) => x / bMiBs[i])
    const hRatios = hMiBs.map((x, i) => x / bMiBs[i])
    const digests = [...new Set(h.map((x) => x.sha256))]
    const same = digests.length === 1 && digests[0] === disk.sha256
    const f = (xs, d = 1) => xs.map((x) => round(x, d)).join(', ')
    log(
      `  ${WIN_PATH}: ${VIRTUAL / GiB} GiB virtual, ${BLOCK / MiB} MiB blocks, ${round((BLOCKS_USED * RUN) / MiB, 0)} MiB random data; allocated (reader's allocatedBytes) ${round(alloc / MiB, 1)} MiB; file ${round(disk.fileBytes / MiB, 1)} MiB`,
    )
    log(
      `  guts (connect + open + drain): ${f(
        g.map((x) => x.seconds),
        2,
      )} s = ${f(gMiBs)} MiB/s of allocated data`,
    )
    log(
      `  guts drain only (rawStream): ${f(
        g.map((x) => x.drainSeconds),
        2,
      )} s = ${f(gDrainMiBs)} MiB/s; connect + SFTP open + openDisk ${f(
        g.map((x) => x.openSeconds * 1000),
        0,
      )} ms`,
    )
    log(
      `  sftp -R 64 -B 262144 (whole process): ${f(
        b.map((x) => x.seconds),
        2,
      )} s = ${f(bMiBs)} MiB/s of file bytes`,
    )
    log(
      `  guts + sha256 of every byte: ${f(
        h.map((x) => x.seconds),
        2,
      )} s = ${f(hMiBs)} MiB/s of allocated data`,
    )
    log(
      `  per-round ratios guts/sftp ${f(ratios, 2)}; with sha256 ${f(hRatios, 2)}; raw content ${same ? 'equals' : 'DIFFERS from'} the source image (sha256)`,
    )
    if (!same) process.exitCode = 1
    const m = medianIndex(ratios)
    figure({
      name: 'hyperv VHDX read over SFTP (driver reader)',
      unit: 'MiB/s',
      guts: gMiBs[m],
      baseline: bMiBs[m],
      ratio: ratios[m],
      target: '>= 0.9x',
      limit: 0.9,
      better: 'higher',
      on: 'ratio',
      note: "SshConnection + the export disk source (openDisk + rawStream, 32 reads in flight of the server's max read), allocated MiB/s vs sftp -R 64 -B 262144 to /dev/null, file MiB/s; median round",
    })
    const mh = medianIndex(hRatios)
    figure({
      name: 'hyperv VHDX read + sha256 of every byte',
      unit: 'MiB/s',
      guts: hMiBs[mh],
      baseline: bMiBs[mh],
      ratio: hRatios[mh],
      note: 'the same drain hashing the whole 1 GiB raw stream (as the core does); allocated MiB/s; median round',
    })
    return {
      virtualBytes: VIRTUAL,
      allocatedBytes: alloc,
      fileBytes: disk.fileBytes,
      sameContent: same,
      guts: g,
      gutsMiBs: gMiBs,
      gutsDrainMiBs: gDrainMiBs,
      sftp: b,
      sftpMiBs: bMiBs,
      ratios,
      sha256: h.map(({ sha256: _s, ...x }) => x),
      sha256MiBs: hMiBs,
      sha256Ratios: hRatios,
    }
  } finally {
    if (process.env.BENCH_KEEP !== '1') {
      rmSync(disk.dir, { recursive: true, force: true })
      log(`  removed ${WIN_DIR} (${disk.dir}); BENCH_KEEP=1 keeps it`)
    }
  }
}

/**
 * C:\bench\bench.vhdx in the lab's C: tree, made once (reused when a kept one is there): a raw
 * image with a 30 MiB random run in 17 of its 32 blocks (seeded, so always the same blocks),
 * converted by qemu-img to a dynamic VHDX with 32 MiB blocks, owned by the lab user like the
 * lab's other disks. Its raw content's sha256 is kept beside it, to check what the reader gives.
 */
function makeBenchDisk(lab, dir, log) {
  const cDir = join(lab.cRoot, 'bench')
  const file = join(cDir, 'bench.vhdx')
  const sumFile = join(cDir, 'bench.raw.sha256')
  if (!existsSync(file) || !existsSync(sumFile)) {
    const t0 = performance.now()
    let seed = 20250901 // mulberry32: the same blocks every time
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
    }
    const blocks = new Set()
    while (blocks.size < BLOCKS_USED) blocks.add(Math.floor(rand() * (VIRTUAL / BLOCK)))
    const extents = [...blocks].sort((a, b) => a - b).map((i) => [i * BLOCK + Math.floor(rand() * 3) * MiB, RUN])
    const raw = makeRaw(join(dir, 'bench.raw'), VIRTUAL, extents)
    const sha256 = run('sha256sum', [raw]).stdout.split(' ')[0]
    mkdirSync(cDir, { recursive: true })
    rmSync(file, { force: true })
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'vhdx', '-o', `subformat=dynamic,block_size=${BLOCK}`, raw, file])
    rmSync(raw, { force: true })
    writeFileSync(sumFile, `${sha256}\n`)
    run('chown', ['-R', `${lab.username}:${lab.username}`, cDir])
    run('chmod', ['755', cDir])
    run('chmod', ['644', file, sumFile])
    log(`  made ${WIN_PATH} (${file}) in ${round((performance.now() - t0) / 1000, 1)} s`)
  } else log(`  reusing ${WIN_PATH} (${file})`)
  return { dir: cDir, file, fileBytes: statSync(file).size, sha256: readFileSync(sumFile, 'utf8').trim() }
}

// ---- 10. vm list of 1,000 VMs ----

async function vmList({ root, dir, lab, log, figure }) {
  const port = Number(process.env.GUTS_LAB_HYPERV_BIG_PORT ?? lab.bigHost?.port ?? 52223)
  // The big host's key, as it shows it now, must be the lab's pinned key (the plan pins it too).
  const scan = spawnSync('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), lab.host], { encoding: 'utf8' })
  const shown = (scan.stdout.split('\n').find((l) => l.includes('ssh-ed25519')) ?? '').split(' ').slice(1, 3).join(' ')
  if (shown !== lab.hostKey) throw new Error(`the big host on port ${port} shows host key "${shown}", not the lab's ${lab.hostKey}`)
  const plan = join(dir, 'plan-big.yaml')
  const q = JSON.stringify
  writeFileSync(
    plan,
    [
      'version: 1',
      'name: bench-hyperv-list',
      'source:',
      '  driver: hyperv',
      `  host: ${q(lab.host)}`,
      `  port: ${port}`,
      `  username: ${q(lab.username)}`,
      `  privateKey: ${q(lab.privateKeyPath)}`,
      `  hostKey: ${q(lab.hostKeyFingerprint)}`,
      'destination:',
      '  driver: local',
      `  directory: ${q(join(dir, 'out'))}`,
      '  format: raw',
      'vms:',
      '  - name: vm-0001',
      '',
    ].join('\n'),
  )
  const env = { ...process.env, GUTS_DATA_DIR: join(dir, 'data-list') }
  const runJs = join(root, 'bin', 'run.js')
  const viaGuts = () => {
    const r = run('node', [runJs, 'vm', 'list', '--source', plan, '--json'], { env })
    const n = JSON.parse(r.stdout).length
    if (n !== 1000) throw new Error(`guts vm list returned ${n} VMs, expected 1000`)
    return r.seconds * 1000
  }
  /** One command line through the lab's sshd as the driver sends it; OpenSSH's ssh, key and pinned known_hosts. */
  const viaSsh = (text, check) => {
    const enc = Buffer.from(text, 'utf16le').toString('base64')
    const r = run('ssh', [
      '-p',
      String(port),
      ...sshOptions(lab),
      '-o',
      'BatchMode=yes',
      `${lab.username}@${lab.host}`,
      `powershell.exe -NoProfile -NonInteractive -EncodedCommand ${enc}`,
    ])
    check(r.stdout)
    return r.seconds * 1000
  }
  const countVms = () =>
    viaSsh('@(Get-VM).Count', (out) => {
      if (out.trim() !== '1000') throw new Error(`Get-VM count gave ${out.trim()}`)
    })
  const bare = () => viaSsh('0', () => undefined)
  // The driver's own list script (what guts vm list runs on the host), sent by ssh.
  const { scriptText } = await import('@guts/driver-hyperv/testing')
  const { LIST_VMS } = await import(join(root, 'plugins', 'driver-hyperv', 'dist', 'scripts', 'inventory.js'))
  const listText = scriptText({ op: 'list-vms', body: LIST_VMS })
  const listScript = () =>
    viaSsh(listText, (out) => {
      const line = out.split('\n').find((l) => l.startsWith('#guts-result:'))
      const n = line ? JSON.parse(line.slice('#guts-result:'.length)).value?.VMs?.length : undefined
      if (n !== 1000) throw new Error(`the list script gave ${n} VMs: ${out.slice(0, 300)}`)
    })

  viaGuts() // warm-up: page cache, the lab's pwsh caches, the state database
  countVms()
  listScript()
  const g = []
  const c = []
  const s = []
  const z = []
  for (let i = 0; i < ROUNDS_LIST; i++) {
    if (i % 2) {
      c.push(countVms())
      s.push(listScript())
      g.push(viaGuts())
    } else {
      g.push(viaGuts())
      c.push(countVms())
      s.push(listScript())
    }
    z.push(bare())
  }
  const nodeStart = Array.from({ length: 5 }, () => run('node', ['-e', '0']).seconds * 1000)
  const helpStart = Array.from({ length: 5 }, () => run('node', [runJs, '--help']).seconds * 1000)
  // pwsh's start on the lab varies by a second from one run to the next: the difference of the
  // medians is steadier than the per-round differences (printed too).
  const own = g.map((x, i) => x - s[i])
  const ownMedian = median(g) - median(s)
  const f = (xs) => xs.map((x) => round(x, 0)).join(', ')
  log(`  guts vm list --json (1,000 VMs, port ${port}): ${f(g)} ms`)
  log(`  ssh + powershell.exe -EncodedCommand '0' (pwsh start on this lab host): ${f(z)} ms`)
  log(`  ssh + powershell.exe -EncodedCommand '@(Get-VM).Count': ${f(c)} ms`)
  log(`  ssh + the driver's own list script (LIST_VMS, as guts sends it): ${f(s)} ms`)
  log(`  node -e 0: ${f(nodeStart)} ms; node bin/run.js --help: ${f(helpStart)} ms`)
  log(
    `  guts median ${round(median(g), 0)} ms = host script by ssh ${round(median(s), 0)} ms + guts' own part ~${round(ownMedian, 0)} ms (per-round differences ${f(own)}); pwsh start alone ${round(median(z), 0)} ms`,
  )
  figure({
    name: 'hyperv vm list 1,000 VMs --json',
    unit: 'ms',
    guts: median(g),
    baseline: median(c),
    target: '<= 2000 ms',
    limit: 2000,
    note: "absolute target; baseline: bare ssh + powershell.exe '@(Get-VM).Count' round trip (pwsh 7 start on the lab host); medians",
  })
  figure({
    name: "hyperv vm list: guts' own part",
    unit: 'ms',
    guts: ownMedian,
    baseline: median(helpStart),
    note: "median guts minus median of the driver's list script sent by ssh, against node bin/run.js --help",
  })
  return {
    port,
    guts: g,
    sshBare: z,
    sshGetVmCount: c,
    sshListScript: s,
    gutsOwnPartMs: ownMedian,
    perRoundDifferences: own,
    nodeStartMs: nodeStart,
    helpMs: helpStart,
  }
}

// ---- connection details ----

/** What the driver builds from its plan options (config.ts): key login, the lab's host key pinned. */
function sshSettings(lab, port) {
  return {
    host: lab.host,
    port,
    username: lab.username,
    privateKey: readFileSync(lab.privateKeyPath),
    hostKeys: { pinned: lab.hostKeyFingerprint, knownHostsFiles: [] },
    keepaliveIntervalMs: 15_000,
    readyTimeoutMs: 20_000,
  }
}

/** OpenSSH client options: no user config, the lab's key only, its pinned known_hosts, strict checking. */
function sshOptions(lab) {
  return [
    '-F',
    '/dev/null',
    '-o',
    `UserKnownHostsFile=${lab.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `IdentityFile=${lab.privateKeyPath}`,
    '-o',
    'IdentitiesOnly=yes',
  ]
}

// Standalone: `node bench/hyperv.mjs` prints figures 9, 10 and 11 only.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  const work = join(root, 'bench', '.work', 'hyperv-alone')
  mkdirSync(work, { recursive: true })
  const log = (...a) => console.log(...a)
  const rows = []
  const figure = (fg) => {
    const ratio = fg.ratio ?? fg.guts / fg.baseline
    const checked = fg.on === 'ratio' ? ratio : fg.guts
    const result = fg.limit == null ? 'info' : (fg.better === 'higher' ? checked >= fg.limit : checked <= fg.limit) ? 'PASS' : 'MISS'
    rows.push([fg.name, fg.unit, round(fg.guts), round(fg.baseline), round(ratio), fg.target ?? '-', result])
    log(
      `  -> ${fg.name}: guts ${round(fg.guts)} ${fg.unit}, baseline ${round(fg.baseline)} ${fg.unit}, ratio ${round(ratio)} [${result}${fg.target ? `, target ${fg.target}` : ''}]`,
    )
  }
  try {
    const details = await hypervBench({ root, work, log, section: (t) => log(`\n== ${t} ==`), figure })
    log('')
    for (const r of rows) log(r.join('  '))
    if (details)
      writeFileSync(
        join(root, 'bench', '.work', 'hyperv-results.json'),
        `${JSON.stringify({ at: new Date().toISOString(), rows, details }, null, 2)}\n`,
      )
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
