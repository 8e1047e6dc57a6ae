// Figure 5: Glance upload throughput of the OpenStack driver against `curl -T` of the same file to
// the same Glance, in the same run. Needs the lab (GUTS_LAB_OPENSTACK=<clouds.yaml>); otherwise it
// prints "skipped: no lab". Run alone with `node bench/glance.mjs` (after `npx tsc -b`).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { MiB, makeRaw, medianIndex, round, sync } from './lib.mjs'

const SIZE = 512 * MiB
const ROUNDS = Number(process.env.BENCH_ROUNDS_GLANCE ?? 3)

/**
 * Uploads a 512 MiB random raw file ROUNDS times each way, alternating which goes first, and
 * reports the round with the median ratio (driver MiB/s ÷ curl MiB/s). Both sides time only the
 * data upload into an image created beforehand: for the driver, from opening its stream target
 * (undici PUT, sha512 while streaming, Glance's os_hash_value checked) until it has finished; for
 * curl, the PUT of the file. Every image made here is deleted at the end.
 */
export async function glanceUpload({ work, log, figure }) {
  const lab = process.env.GUTS_LAB_OPENSTACK
  if (!lab) {
    log('  skipped: no lab (set GUTS_LAB_OPENSTACK to the lab clouds.yaml)')
    return
  }
  process.env.OS_CLIENT_CONFIG_FILE = lab
  const cloud = process.env.GUTS_LAB_OPENSTACK_CLOUD ?? 'lab-admin'
  const { OpenStackDestination, OpenStackClient, loadCloudConfig } = await import('@guts/driver-openstack/testing')
  const { silentLogger } = await import('@guts/sdk')
  const client = new OpenStackClient(loadCloudConfig({ cloud }), silentLogger)
  const driver = new OpenStackDestination({ cloud, diskFormat: 'raw' })
  const mark = `bench${randomBytes(4).toString('hex')}`
  const ctx = { signal: AbortSignal.timeout(30 * 60_000), log: silentLogger, workDir: work, recordUndo: async () => undefined }
  const file = makeRaw(join(work, 'glance512m.raw'), SIZE, [[0, SIZE]])
  const images = []
  try {
    await driver.connect(ctx)
    const disk = { id: 'disk-0', index: 0, virtualSize: SIZE, format: 'raw' }
    const vm = {
      id: `glance-${mark}`,
      name: `glance-${mark}`,
      powerState: 'off',
      cpus: 1,
      memoryMiB: 512,
      firmware: 'bios',
      secureBoot: false,
      os: { family: 'linux' },
      disks: [disk],
      nics: [],
    }
    const mapping = { networks: [], tags: { 'guts-migration': mark, 'guts-source-vm': vm.id }, options: {} }
    const endpoint = await client.http.endpoint('image')

    /** The driver's path: beginImport + openDiskTarget (creates the image, untimed), then the stream. */
    const viaDriver = async (i) => {
      const session = await driver.beginImport(vm, { ...mapping, name: `${vm.name}-${i}` }, ctx)
      const target = await driver.openDiskTarget(session, disk, ctx)
      images.push(...(await client.glance.findByTag(`guts:${mark}`)).map((x) => x.id))
      sync()
      const t0 = performance.now()
      await pipeline(createReadStream(file, { highWaterMark: 4 * MiB }), await target.open(ctx.signal))
      return (performance.now() - t0) / 1000
    }
    /** curl -T of the same file into an image created the same way (Expect: 100-continue off). */
    const viaCurl = async (i) => {
      const image = await client.glance.create({
        name: `guts-bench-curl-${mark}-${i}`,
        diskFormat: 'raw',
        tags: ['guts', `guts:${mark}`],
        properties: {},
      })
      images.push(image.id)
      const token = await client.http.token()
      sync()
      // spawnSync, not lib's run(): its error message would print the token.
      const t0 = performance.now()
      const r = spawnSync(
        'curl',
        [
          '-sS',
          '--fail',
          '-o',
          '/dev/null',
          '-T',
          file,
          '-H',
          'Content-Type: application/octet-stream',
          '-H',
          'Expect:',
          '-H',
          `X-Auth-Token: ${token}`,
          `${endpoint}/images/${image.id}/file`,
        ],
        { encoding: 'utf8' },
      )
      const seconds = (performance.now() - t0) / 1000
      if (r.status !== 0) throw new Error(`curl -T failed (exit ${r.status}): ${r.stderr}`)
      return seconds
    }

    const d = []
    const c = []
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2) {
        c.push(await viaCurl(i))
        d.push(await viaDriver(i))
      } else {
        d.push(await viaDriver(i))
        c.push(await viaCurl(i))
      }
    }
    const mibps = (s) => SIZE / MiB / s
    const ratios = d.map((s, i) => mibps(s) / mibps(c[i]))
    log(
      `  driver ${d.map((s) => round(mibps(s), 1)).join(', ')} MiB/s; curl -T ${c.map((s) => round(mibps(s), 1)).join(', ')} MiB/s; per-round ratios ${ratios.map((r) => round(r)).join(', ')}`,
    )
    const m = medianIndex(ratios)
    figure({
      name: 'Glance upload 512 MiB: driver vs curl -T',
      unit: 'MiB/s',
      guts: mibps(d[m]),
      baseline: mibps(c[m]),
      ratio: ratios[m],
      target: '>= 0.9x',
      limit: 0.9,
      better: 'higher',
      on: 'ratio',
      note: 'same file, same Glance, alternating order; median round',
    })
    return { driver: d, curl: c, ratios }
  } finally {
    for (const id of new Set(images)) await client.glance.delete(id).catch(() => undefined)
    await driver.dispose()
    await client.close()
    rmSync(file, { force: true })
  }
}

// Standalone: `node bench/glance.mjs`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const work = join(dirname(fileURLToPath(import.meta.url)), '.work', 'glance')
  mkdirSync(work, { recursive: true })
  const log = (...a) => console.log(...a)
  const figure = (f) =>
    log(
      `  -> ${f.name}: driver ${round(f.guts, 1)} ${f.unit}, curl -T ${round(f.baseline, 1)} ${f.unit}, ratio ${round(f.ratio)} [${f.ratio >= f.limit ? 'PASS' : 'MISS'}, target ${f.target}]`,
    )
  try {
    await glanceUpload({ work, log, figure })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
