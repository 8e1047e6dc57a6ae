import { isBun } from '@guts/sdk'
import { access, constants, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { freeBytes } from '../pipeline/replica-space.js'
import { openStateStore } from '../state/open-store.js'
import { TOOL_INSTALL_HINTS } from '../../tools/external.js'
import { qemuImgVersion } from '../../tools/qemu-img.js'
import { runTool } from '../../tools/external.js'

export interface DoctorCheck {
  name: string
  ok: boolean
  /** Required checks fail `guts doctor`; optional ones only warn. */
  required: boolean
  detail: string
  fix?: string
}

/** Everything guts needs from the machine, checked without side effects beyond creating the data dir. */
export async function runDoctor(options: { dataDir: string; databaseUrl?: string }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  const nodeOk = isBun() || major > 20 || (major === 20 && minor >= 19)
  checks.push({
    name: 'node',
    ok: nodeOk,
    required: true,
    detail: `Node ${process.versions.node}`,
    ...(nodeOk ? {} : { fix: 'Install Node.js 20.19 or newer.' }),
  })

  const qemu = await qemuImgVersion()
  checks.push({
    name: 'qemu-img',
    ok: Boolean(qemu),
    required: true,
    detail: qemu ? `qemu-img ${qemu}` : 'not found on PATH',
    ...(qemu ? {} : { fix: TOOL_INSTALL_HINTS['qemu-img']! }),
  })

  for (const [tool, fix] of [
    ['virt-v2v-in-place', 'Optional guest adaptation (virtio drivers): sudo apt-get install virt-v2v'],
    ['nbdkit', 'Optional NBD transfers: sudo apt-get install nbdkit'],
  ] as const) {
    const found = await runTool(tool, ['--version']).then(
      (r) => String(r.stdout).split('\n')[0] ?? '',
      () => undefined,
    )
    checks.push({ name: tool, ok: Boolean(found), required: false, detail: found ?? 'not installed', ...(found ? {} : { fix }) })
  }

  try {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
    await access(options.dataDir, constants.W_OK)
    checks.push({ name: 'data dir', ok: true, required: true, detail: options.dataDir })
  } catch (e) {
    checks.push({
      name: 'data dir',
      ok: false,
      required: true,
      detail: `${options.dataDir}: ${(e as Error).message}`,
      fix: 'Set GUTS_DATA_DIR to a writable directory.',
    })
  }
  const bytes = await freeBytes(options.dataDir)
  if (bytes !== undefined) {
    const free = bytes / 2 ** 30
    // Staging and warm replicas live here: a few GiB is too little for most VMs.
    checks.push({
      name: 'data dir space',
      ok: free >= 10,
      required: false,
      detail: `${free.toFixed(1)} GiB free`,
      ...(free >= 10
        ? {}
        : {
            fix: 'Warm migrations keep replicas and some transfers stage disks in the data dir: point GUTS_DATA_DIR at a larger filesystem.',
          }),
    })
  }
  checks.push(await stateStoreCheck(options))
  return checks
}

/** Opens the state store guts would use (PostgreSQL when GUTS_DATABASE_URL says so) and counts its migrations. */
async function stateStoreCheck(o: { dataDir: string; databaseUrl?: string }): Promise<DoctorCheck> {
  const where = o.databaseUrl ? `PostgreSQL ${o.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}` : `SQLite ${join(o.dataDir, 'guts.db')}`
  try {
    const store = await openStateStore({ dataDir: o.dataDir, ...(o.databaseUrl ? { url: o.databaseUrl } : {}) })
    try {
      return { name: 'state store', ok: true, required: true, detail: `${where}: ${(await store.listMigrations()).length} migration(s)` }
    } finally {
      await store.close()
    }
  } catch (e) {
    return {
      name: 'state store',
      ok: false,
      required: true,
      detail: `${where}: ${(e as Error).message}`,
      fix: o.databaseUrl ? 'Check GUTS_DATABASE_URL and that the server is up.' : 'Check that the data dir is writable.',
    }
  }
}
