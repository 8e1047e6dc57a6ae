// Figure 8: a warm migration's delta sync, vcsimx -> local raw. A VM of its own (CreateVM_Task,
// 256 MiB disk, 64 MiB of data) runs a warm `guts migrate --json`; after the full sync the "guest"
// writes (POST /vcsimx/write), and the next delta sync's bytesMoved is compared with the bytes
// the guest changed: whole 64 KiB blocks (the CBT granularity) and small 4 KiB writes (where CBT's
// block size, not guts, sets the floor). Then `guts migration cutover` and the downtime it reports.
// Needs `npm run build`; called by bench/vmware.mjs on its own vcsimx instance.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { MiB, round, warmRounds } from './lib.mjs'

const KiB = 1024
const DISK_MIB = 256
const BLOCK = 64 * KiB

export async function deltaSyncBench({ root, work, log, figure, lab }) {
  const { VimSession, resolveConfig, retrieve, runTask } = await import('@guts/driver-vmware/testing')
  const session = new VimSession(
    resolveConfig({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }, {}),
  )
  await session.connect()
  const name = `bench-warm-${process.pid}`
  const dir = join(work, 'vmware-warm')
  mkdirSync(dir, { recursive: true })
  let ref
  try {
    const [anyVm] = await retrieve(session, [{ type: 'VirtualMachine', value: await firstVm(root, lab) }], 'VirtualMachine', [
      'parent',
      'resourcePool',
      'runtime.host',
    ])
    const p = anyVm.props
    ref = await runTask(session, 'CreateVM_Task', {
      _this: p.parent,
      pool: p.resourcePool,
      host: p['runtime.host'],
      config: {
        name,
        guestId: 'otherLinux64Guest',
        numCPUs: 1,
        memoryMB: 64,
        files: { vmPathName: '[LocalDS_0]' },
        deviceChange: [
          { operation: 'add', device: { '@type': 'ParaVirtualSCSIController', key: -100, busNumber: 0, sharedBus: 'noSharing' } },
          {
            operation: 'add',
            fileOperation: 'create',
            device: {
              '@type': 'VirtualDisk',
              key: -101,
              controllerKey: -100,
              unitNumber: 0,
              capacityInKB: DISK_MIB * 1024,
              backing: { '@type': 'VirtualDiskFlatVer2BackingInfo', fileName: '', diskMode: 'persistent', thinProvisioned: true },
            },
          },
        ],
      },
    })
    for (let i = 0; i < 4; i++) await guestWrite(lab, name, (8 + i * 48) * MiB, randomBytes(16 * MiB))
    await runTask(session, 'PowerOnVM_Task', { _this: ref })

    const plan = join(dir, 'plan.yaml')
    writeFileSync(
      plan,
      [
        'version: 1',
        'name: bench-warm',
        'source:',
        '  driver: vmware',
        `  url: ${JSON.stringify(lab.url)}`,
        `  username: ${JSON.stringify(lab.username)}`,
        '  password: "${env:BENCH_VC_PASSWORD}"',
        `  thumbprint: ${JSON.stringify(lab.thumbprint)}`,
        `destination: { driver: local, directory: ${JSON.stringify(join(dir, 'out'))}, format: raw }`,
        'policy: { verify: false }',
        'warm: { syncInterval: 2s }',
        'vms:',
        `  - name: ${name}`,
        '    mode: warm',
        '',
      ].join('\n'),
    )
    const env = { ...process.env, BENCH_VC_PASSWORD: lab.password, GUTS_DATA_DIR: join(dir, 'data') }
    for (const k of Object.keys(env)) if (k.startsWith('GOVC_')) delete env[k]

    // The guest's writes per round: [offset, bytes]. Round 1: 24 whole 64 KiB blocks (1.5 MiB) spread
    // over the disk, plus 2 MiB in one run. Round 2: 64 writes of 4 KiB at random block-aligned places.
    const rounds = [
      [...Array.from({ length: 24 }, (_, i) => [(i * 10 + 3) * MiB, BLOCK]), [200 * MiB, 2 * MiB]],
      Array.from({ length: 64 }, (_, i) => [(i * 4 + 1) * MiB + 8 * KiB, 4 * KiB]),
    ]
    const { syncs, downtime } = await warmRounds({
      root,
      plan,
      env,
      rounds,
      writeRound: async (writes) => {
        for (const [offset, bytes] of writes) await guestWrite(lab, name, offset, randomBytes(bytes))
      },
    })

    const full = syncs.find((s) => s.kind === 'full')
    const deltas = syncs.filter((s) => s.kind === 'delta' && s.bytesChanged > 0)
    const changedBlocks = (writes) =>
      new Set(
        writes.flatMap(([o, n]) =>
          Array.from({ length: Math.ceil((o + n) / BLOCK) - Math.floor(o / BLOCK) }, (_, k) => Math.floor(o / BLOCK) + k),
        ),
      ).size * BLOCK
    const written = (writes) => writes.reduce((a, [, n]) => a + n, 0)
    log(
      `  VM ${name}: ${DISK_MIB} MiB disk, 64 MiB of data; full sync moved ${round(full.bytesMoved / MiB, 1)} MiB in ${round(full.seconds)} s`,
    )
    const out = { full, deltas, downtime }
    deltas.slice(0, 2).forEach((d, i) => {
      const w = written(rounds[i])
      const blocks = changedBlocks(rounds[i])
      log(
        `  delta ${i + 1}: guest wrote ${round(w / KiB)} KiB in ${rounds[i].length} writes = ${round(blocks / KiB)} KiB of 64 KiB blocks; CBT reported ${round(d.bytesChanged / KiB)} KiB; guts moved ${round(d.bytesMoved / KiB)} KiB in ${round(d.seconds)} s`,
      )
      figure({
        name:
          i === 0
            ? 'warm delta sync, whole 64 KiB blocks: bytes moved / bytes changed'
            : 'warm delta sync, 4 KiB writes: bytes moved / bytes written',
        unit: 'KiB',
        guts: d.bytesMoved / KiB,
        baseline: (i === 0 ? blocks : w) / KiB,
        ...(i === 0 ? { target: '<= 1.1x', limit: 1.1, better: 'lower', on: 'ratio' } : {}),
        note:
          i === 0
            ? 'blocks the guest changed, as CBT tracks them'
            : 'CBT tracks 64 KiB blocks: a 4 KiB write costs one block (16x) in any CBT-based tool',
      })
    })
    if (downtime)
      log(
        `  cutover: downtime ${round(downtime.seconds)} s (source power-off -> destination running), final sync ${round(syncs.at(-1).bytesMoved / KiB)} KiB`,
      )
    return out
  } finally {
    if (ref) {
      await runTask(session, 'PowerOffVM_Task', { _this: ref }).catch(() => undefined)
      await runTask(session, 'Destroy_Task', { _this: ref }).catch(() => undefined)
    }
    await session.close()
  }
}

/** Any VM of the lab: the new VM goes in its folder, pool and host. */
async function firstVm(root, lab) {
  const { default: vmware } = await import('@guts/driver-vmware')
  const driver = vmware.create({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint })
  const ctx = {
    signal: AbortSignal.timeout(60_000),
    log: { debug() {}, info() {}, warn() {}, error() {} },
    workDir: '/tmp',
    recordUndo: async () => {},
  }
  try {
    for await (const vm of driver.listVms({}, ctx)) return vm.id
    throw new Error('the lab has no VM to take a folder, pool and host from')
  } finally {
    await driver.dispose()
  }
}

function guestWrite(lab, vm, offset, data) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: lab.host,
        port: lab.port,
        path: `/vcsimx/write?vm=${encodeURIComponent(vm)}&disk=0&offset=${offset}`,
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-length': data.length },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c) => (text += c))
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`guest write: HTTP ${res.statusCode} ${text}`))))
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}
