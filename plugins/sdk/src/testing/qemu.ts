import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { DiskFormat } from '../model.js'

/**
 * The few qemu-img calls the suites' checks make (sizes, content comparison, a raw reference
 * copy of a source disk). They shell out on purpose: the core reads disks with qemu-img too, so
 * a driver that passes here hands the core something it can read.
 */

const run = promisify(execFile)

async function qemuImg(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('qemu-img', args, { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const e = error as { code?: unknown; stderr?: unknown; message?: string }
    if (e.code === 'ENOENT')
      throw new Error('qemu-img is not installed; the conformance suites need it (apt install qemu-utils).', { cause: error })
    throw new Error(`qemu-img ${args.join(' ')} failed: ${String(e.stderr ?? e.message).trim()}`, { cause: error })
  }
}

/** `virtual-size` from `qemu-img info --output=json` for a path, URL or NBD URI. */
export async function imageVirtualSize(location: string, format: DiskFormat): Promise<number> {
  const info = JSON.parse(await qemuImg(['info', '--output=json', '-f', format, location])) as Record<string, unknown>
  const size = info['virtual-size']
  if (typeof size !== 'number') throw new Error(`qemu-img info reported no virtual-size for ${location}`)
  return size
}

/** `qemu-img convert`, for the raw reference a target is compared with; the target is created fresh. */
export async function convertImage(from: string, fromFormat: DiskFormat, to: string, toFormat: DiskFormat): Promise<void> {
  await qemuImg(['convert', '-f', fromFormat, '-O', toFormat, from, to])
}

/**
 * `qemu-img compare` of guest-visible content. Exit 0 is equal, 1 is different; anything else
 * is a failure to read. Not strict mode: allocation differences (raw vs qcow2) are not content.
 */
export async function imagesEqual(
  a: string,
  aFormat: DiskFormat,
  b: string,
  bFormat: DiskFormat,
): Promise<{ equal: boolean; detail: string }> {
  try {
    const { stdout } = await run('qemu-img', ['compare', '-f', aFormat, '-F', bFormat, a, b])
    return { equal: true, detail: stdout.trim() }
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string }
    if (e.code === 1) return { equal: false, detail: String(e.stdout ?? '').trim() }
    throw new Error(`qemu-img compare ${a} ${b} failed: ${String(e.stderr ?? error).trim()}`, { cause: error })
  }
}
