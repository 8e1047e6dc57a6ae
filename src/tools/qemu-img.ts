import { GutsError, type DiskFormat } from '@guts/sdk'
import { mapToolError, runTool, startTool, ToolRunError } from './external.js'

export interface QemuImgInfo {
  format: string
  virtualSize: number
  actualSize?: number
  /** `streamOptimized`, `monolithicSparse`, … for VMDK. */
  subformat?: string
  backingFile?: string
}

/** Reads a disk image's format and sizes with `qemu-img info --output=json`. */
export async function qemuImgInfo(path: string, options: { format?: DiskFormat; signal?: AbortSignal } = {}): Promise<QemuImgInfo> {
  const args = ['info', '--output=json', ...(options.format ? ['-f', options.format] : []), path]
  try {
    const { stdout } = await runTool('qemu-img', args, { signal: options.signal })
    const raw = JSON.parse(String(stdout)) as Record<string, unknown>
    const specific = (raw['format-specific'] as { data?: { 'create-type'?: string } } | undefined)?.data
    return {
      format: String(raw.format),
      virtualSize: Number(raw['virtual-size']),
      ...(raw['actual-size'] !== undefined ? { actualSize: Number(raw['actual-size']) } : {}),
      ...(specific?.['create-type'] ? { subformat: specific['create-type'] } : {}),
      ...(typeof raw['backing-filename'] === 'string' ? { backingFile: raw['backing-filename'] } : {}),
    }
  } catch (error) {
    throw mapToolError('qemu-img', args, error, options.signal)
  }
}

export interface ConvertOptions {
  source: string
  sourceFormat: DiskFormat
  target: string
  targetFormat: DiskFormat
  /** Called with bytes done out of `total`, as qemu-img reports its percentage. */
  onProgress?: (fraction: number) => void
  signal?: AbortSignal
  /** Extra `-o` options for the target, e.g. `compat=1.1` for qcow2. */
  targetOptions?: string[]
  /** Parallel coroutines (`-m`); qemu-img's default is 8. */
  coroutines?: number
}

const PROGRESS = /\((\d+(?:\.\d+)?)\/100%\)/g

/**
 * `qemu-img convert` with progress: sparse by default (zero clusters are not written), the
 * target created fresh so a restarted transfer never mixes old and new data.
 */
export async function qemuImgConvert(options: ConvertOptions): Promise<void> {
  const args = [
    'convert',
    '-p',
    '-f',
    options.sourceFormat,
    '-O',
    options.targetFormat,
    ...(options.targetOptions?.length ? ['-o', options.targetOptions.join(',')] : []),
    ...(options.coroutines ? ['-m', String(options.coroutines)] : []),
    options.source,
    options.target,
  ]
  const { child, done } = startTool('qemu-img', args, { signal: options.signal, streamStdout: true })
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    let last: number | undefined
    for (const m of chunk.matchAll(PROGRESS)) last = Number(m[1])
    if (last !== undefined) options.onProgress?.(last / 100)
  })
  try {
    await done
  } catch (error) {
    throw mapToolError('qemu-img', args, error, options.signal)
  }
}

/** Creates an image; used by tests, fixtures and benchmarks. */
export async function qemuImgCreate(path: string, format: DiskFormat, sizeBytes: number, createOptions: string[] = []): Promise<void> {
  const args = ['create', '-q', '-f', format, ...(createOptions.length ? ['-o', createOptions.join(',')] : []), path, String(sizeBytes)]
  try {
    await runTool('qemu-img', args)
  } catch (error) {
    throw mapToolError('qemu-img', args, error)
  }
}

/**
 * True when two images hold the same guest-visible content (`qemu-img compare`, exit 0), false
 * when they differ (exit 1). Not strict: allocation differs legitimately between formats (a zero
 * cluster may be allocated in one and a hole in the other); sizes are compared separately.
 */
export async function qemuImgCompare(
  a: { path: string; format: DiskFormat },
  b: { path: string; format: DiskFormat },
  signal?: AbortSignal,
): Promise<{ same: boolean; detail: string }> {
  // Not `compare -s`: strict mode also compares *allocation status*, so a sparse raw and the
  // qcow2 converted from it (same bytes) "differ" at offset 0. Sizes are checked explicitly instead.
  const [ia, ib] = await Promise.all([qemuImgInfo(a.path, { format: a.format, signal }), qemuImgInfo(b.path, { format: b.format, signal })])
  if (ia.virtualSize !== ib.virtualSize)
    return { same: false, detail: `Image size mismatch: ${ia.virtualSize} != ${ib.virtualSize} bytes.` }
  const args = ['compare', '-f', a.format, '-F', b.format, a.path, b.path]
  try {
    const r = await runTool('qemu-img', args, { signal, reject: false })
    if (r.exitCode === 0) return { same: true, detail: String(r.stdout) }
    if (r.exitCode === 1) return { same: false, detail: String(r.stdout) }
    throw new ToolRunError('compare failed', r)
  } catch (error) {
    throw mapToolError('qemu-img', args, error, signal)
  }
}

export interface QemuImgCheckResult {
  /** No corruptions and no errors (leaked clusters only waste space, so they do not fail it). */
  ok: boolean
  corruptions: number
  leaks: number
  detail: string
}

/**
 * `qemu-img check` (qcow2, vmdk, vhdx, vpc…): exit 0 clean, 3 leaked clusters only (harmless),
 * 2 corruptions, 1 check error; 63 means the format has no checker, treated as ok.
 */
export async function qemuImgCheck(path: string, format: DiskFormat, signal?: AbortSignal): Promise<QemuImgCheckResult> {
  const args = ['check', '--output=json', '-f', format, path]
  try {
    const r = await runTool('qemu-img', args, { signal, reject: false })
    if (r.exitCode === 63) return { ok: true, corruptions: 0, leaks: 0, detail: 'format has no consistency check' }
    if (r.exitCode !== 0 && r.exitCode !== 2 && r.exitCode !== 3) throw new ToolRunError('check failed', r)
    const out = JSON.parse(String(r.stdout)) as { corruptions?: number; leaks?: number; 'check-errors'?: number }
    const corruptions = Number(out.corruptions ?? 0)
    const leaks = Number(out.leaks ?? 0)
    const errors = Number(out['check-errors'] ?? 0)
    return { ok: corruptions === 0 && errors === 0, corruptions, leaks, detail: String(r.stdout) }
  } catch (error) {
    throw mapToolError('qemu-img', args, error, signal)
  }
}

/**
 * A qemu-img `json:` pseudo-path for a byte range of a file, e.g. one disk inside an OVA (a tar):
 * the `raw` driver's offset/size window under the image format driver, so qemu-img reads the
 * member in place (zero copy). Without `format` qemu-img probes it (for `qemu-img info`).
 * Only qemu-img understands these paths: never fs.stat or open them.
 */
export function qemuByteRangePath(filename: string, offset: number, size: number, format?: DiskFormat): string {
  const file = { driver: 'raw', offset, size, file: { driver: 'file', filename } }
  return `json:${JSON.stringify(format ? { driver: format, file } : { file })}`
}

/** True for a `json:` pseudo-path made by qemuByteRangePath (not a file on disk). */
export function isQemuJsonPath(path: string): boolean {
  return path.startsWith('json:')
}

/** qemu-img's version string, or undefined when it is not installed (for `guts doctor`). */
export async function qemuImgVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await runTool('qemu-img', ['--version'])
    return /version\s+([\d.]+)/.exec(String(stdout))?.[1] ?? String(stdout).split('\n')[0]
  } catch {
    return undefined
  }
}

/** Guards against formats qemu-img names differently from ours. */
export function asDiskFormat(format: string): DiskFormat {
  if (format === 'raw' || format === 'qcow2' || format === 'vmdk' || format === 'vhdx' || format === 'vpc') return format
  throw new GutsError('GUTS_UNSUPPORTED', `Disk format "${format}" is not supported; guts reads raw, qcow2, vmdk, vhdx and vpc (VHD).`)
}
