// Figure 11: a Hyper-V warm migration's delta sync (Resilient Change Tracking), lab -> local raw.
// The lab's bench VM (seeded running, owned by the bench) runs a warm `guts migrate --json`; after
// the full sync the "guest" writes (test/lab/hyperv-lab.sh guest-write), and the next delta sync's
// bytesMoved is compared with the bytes the guest changed, counted in RCT blocks (the granularity
// the host tracks at: `rct-info`), then with small 4 KiB writes (where RCT's granularity, not guts,
// sets the floor). Then `guts migration cutover` and the downtime it reports. Called by bench/hyperv.mjs.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MiB, round, warmRounds } from './lib.mjs'

const KiB = 1024
export const BENCH_VM = 'bench-warm01'

export async function hypervDeltaBench({ root, work, log, figure, lab }) {
  const dir = join(work, 'hyperv-warm')
  mkdirSync(dir, { recursive: true })
  const labCmd = (...args) => execFileSync('bash', [join(root, 'test/lab/hyperv-lab.sh'), ...args], { encoding: 'utf8' })
  const info = JSON.parse(labCmd('rct-info', BENCH_VM))
  const disk = info.disks[0]
  const g = disk.granularity
  const plan = join(dir, 'plan.yaml')
  writeFileSync(
    plan,
    [
      'version: 1',
      'name: bench-hyperv-warm',
      'source:',
      '  driver: hyperv',
      `  host: ${lab.host}`,
      `  port: ${lab.port}`,
      `  username: ${lab.username}`,
      `  privateKey: ${JSON.stringify(lab.privateKeyPath)}`,
      `  hostKey: ${JSON.stringify(lab.hostKeyFingerprint)}`,
      `destination: { driver: local, directory: ${JSON.stringify(join(dir, 'out'))}, format: raw }`,
      'policy: { verify: false }',
      'warm: { syncInterval: 2s }',
      'vms:',
      `  - name: ${BENCH_VM}`,
      '    mode: warm',
      '',
    ].join('\n'),
  )
  const env = { ...process.env, GUTS_DATA_DIR: join(dir, 'data') }
  // The guest's writes per round: [offset, bytes]. Round 1: 8 whole RCT blocks spread over the disk
  // and a run of two. Round 2: 8 writes of 4 KiB, each inside its own block, off the block start.
  const blocks = Math.floor(disk.size / g)
  const rounds = [
    [...Array.from({ length: 8 }, (_, i) => [Math.floor(((i + 1) * blocks) / 12) * g, g]), [Math.floor(blocks / 2) * g + g, 2 * g]],
    Array.from({ length: 8 }, (_, i) => [Math.floor(((i + 1) * blocks) / 10) * g + 8 * KiB, 4 * KiB]),
  ]
  let run
  try {
    // One lab call per round: its writes land between the same two syncs.
    run = await warmRounds({
      root,
      plan,
      env,
      rounds,
      writeRound: async (writes) => labCmd('guest-write', BENCH_VM, '0', ...writes.flat().map(String)),
    })
  } finally {
    labCmd('vm-state', BENCH_VM, 'Running')
  }
  const { syncs, downtime } = run

  const full = syncs.find((s) => s.kind === 'full')
  // A round's writes are one lab call, but a sync may start while it runs: sum the deltas per round.
  const perRound = rounds.map((_, i) => syncs.filter((s) => s.kind === 'delta' && s.phase === i))
  const sum = (list, key) => list.reduce((a, s) => a + s[key], 0)
  const inBlocks = (writes) =>
    new Set(writes.flatMap(([o, n]) => Array.from({ length: Math.ceil((o + n) / g) - Math.floor(o / g) }, (_, k) => Math.floor(o / g) + k)))
      .size * g
  const written = (writes) => writes.reduce((a, [, n]) => a + n, 0)
  log(
    `  VM ${BENCH_VM}: ${round(disk.size / MiB)} MiB disk, RCT granularity ${round(g / KiB)} KiB; full sync moved ${round(full.bytesMoved / MiB, 1)} MiB in ${round(full.seconds)} s`,
  )
  perRound.forEach((deltas, i) => {
    const moved = sum(deltas, 'bytesMoved')
    const w = written(rounds[i])
    const changed = inBlocks(rounds[i])
    log(
      `  round ${i + 1}: guest wrote ${round(w / KiB)} KiB in ${rounds[i].length} writes = ${round(changed / KiB)} KiB of RCT blocks; RCT reported ${round(sum(deltas, 'bytesChanged') / KiB)} KiB; guts moved ${round(moved / KiB)} KiB in ${deltas.length} sync(s), ${round(sum(deltas, 'seconds'), 1)} s`,
    )
    figure({
      name:
        i === 0
          ? 'hyperv warm delta, whole RCT blocks: bytes moved / bytes changed'
          : 'hyperv warm delta, 4 KiB writes: bytes moved / bytes written',
      unit: 'KiB',
      guts: moved / KiB,
      baseline: (i === 0 ? changed : w) / KiB,
      ...(i === 0 ? { target: '<= 1.1x', limit: 1.1, better: 'lower', on: 'ratio' } : {}),
      note:
        i === 0
          ? `blocks the guest changed, as RCT tracks them (${round(g / KiB)} KiB in the lab)`
          : `RCT tracks ${round(g / KiB)} KiB blocks: a 4 KiB write costs one block in any RCT-based tool`,
    })
  })
  if (downtime) {
    log(
      `  cutover: downtime ${round(downtime.seconds, 1)} s (source power-off -> destination running), final sync ${round(syncs.at(-1).bytesMoved / KiB)} KiB`,
    )
    figure({
      name: 'hyperv warm cutover downtime',
      unit: 's',
      guts: downtime.seconds,
      note: 'source shut down -> final delta -> local boot; absolute',
    })
  }
  return { full, perRound, downtime }
}
