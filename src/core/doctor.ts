import { access, constants, mkdir } from 'node:fs/promises'
import { TOOL_INSTALL_HINTS } from './tools/external.js'
import { qemuImgVersion } from './tools/qemu-img.js'
import { runTool } from './tools/external.js'

export interface DoctorCheck {
  name: string
  ok: boolean
  /** Required checks fail `guts doctor`; optional ones only warn. */
  required: boolean
  detail: string
  fix?: string
}

/** Everything guts needs from the machine, checked without side effects beyond creating the data dir. */
export async function runDoctor(options: { dataDir: string }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  const nodeOk = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' || major > 20 || (major === 20 && minor >= 19)
  checks.push({ name: 'node', ok: nodeOk, required: true, detail: `Node ${process.versions.node}`, ...(nodeOk ? {} : { fix: 'Install Node.js 20.19 or newer.' }) })

  const qemu = await qemuImgVersion()
  checks.push({ name: 'qemu-img', ok: Boolean(qemu), required: true, detail: qemu ? `qemu-img ${qemu}` : 'not found on PATH', ...(qemu ? {} : { fix: TOOL_INSTALL_HINTS['qemu-img']! }) })

  for (const [tool, fix] of [['virt-v2v-in-place', 'Optional guest adaptation (virtio drivers): sudo apt-get install virt-v2v'], ['nbdkit', 'Optional NBD transfers: sudo apt-get install nbdkit']] as const) {
    const found = await runTool(tool, ['--version']).then((r) => String(r.stdout).split('\n')[0] ?? '', () => undefined)
    checks.push({ name: tool, ok: Boolean(found), required: false, detail: found ?? 'not installed', ...(found ? {} : { fix }) })
  }

  try {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
    await access(options.dataDir, constants.W_OK)
    checks.push({ name: 'data dir', ok: true, required: true, detail: options.dataDir })
  } catch (e) {
    checks.push({ name: 'data dir', ok: false, required: true, detail: `${options.dataDir}: ${(e as Error).message}`, fix: 'Set GUTS_DATA_DIR to a writable directory.' })
  }
  return checks
}
