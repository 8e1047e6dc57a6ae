import { readdir, stat } from 'node:fs/promises'
import { basename, extname, isAbsolute, join, resolve } from 'node:path'
import { GutsError, type DiskFormat } from '@guts/sdk'
import type { FilesOptions, FilesVmOption } from './options.js'

/**
 * Where one VM comes from, after the options and the scanned `path` were resolved. Plain data: the
 * catalog is rebuilt on every connect, so files added or removed between runs are seen.
 */
export type VmEntry = {
  name: string
  /** Where the definition came from, for messages: `vms[2]` or a scanned path. */
  origin: string
  overrides: Omit<FilesVmOption, 'name' | 'ova' | 'ovf' | 'disks'>
} & ({ kind: 'ova'; path: string } | { kind: 'ovf'; path: string } | { kind: 'disks'; disks: { path: string; format?: DiskFormat }[] })

const IMAGE_EXTENSIONS = new Set(['.vmdk', '.qcow2', '.qcow', '.vhd', '.vhdx', '.img', '.raw'])
/** VMDK extent and side files: data of another .vmdk, not disks of their own. */
const VMDK_SIDE_FILE = /-(flat|delta|ctk|sesparse|\d{6}|s\d{3}|f\d{3})\.vmdk$/i

function resolvePath(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p)
}

function invalid(message: string, ref: string): GutsError {
  return new GutsError('GUTS_PLAN_INVALID', message, { ref })
}

export async function buildCatalog(options: FilesOptions): Promise<VmEntry[]> {
  const baseDir = options.baseDir ?? process.cwd()
  const byName = new Map<string, VmEntry>()
  if (options.path) {
    for (const entry of await scanPath(resolvePath(options.path, baseDir))) {
      const clash = byName.get(entry.name)
      if (clash) {
        throw new GutsError(
          'GUTS_CONFLICT',
          `Two VMs found under ${options.path} are both called "${entry.name}" (${clash.origin} and ${entry.origin}).`,
          {
            suggestions: ['Rename one of them, or list them under `vms:` with distinct names.'],
          },
        )
      }
      byName.set(entry.name, entry)
    }
  }
  const explicit = new Set<string>()
  for (const [i, vm] of (options.vms ?? []).entries()) {
    const origin = `vms[${i}]`
    if (explicit.has(vm.name)) throw invalid(`Two entries under vms are called "${vm.name}"; VM names must be unique.`, origin)
    explicit.add(vm.name)
    byName.set(vm.name, fromOption(vm, origin, baseDir)) // explicit entries win over scanned ones
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
}

function fromOption(vm: FilesVmOption, origin: string, baseDir: string): VmEntry {
  const { name, ova, ovf, disks, ...overrides } = vm
  const given = [ova, ovf, disks].filter((x) => x !== undefined).length
  if (given !== 1) throw invalid(`VM "${name}" must give exactly one of ova, ovf or disks (it gives ${given}).`, origin)
  if (ova) return { name, origin, overrides, kind: 'ova', path: resolvePath(ova, baseDir) }
  if (ovf) return { name, origin, overrides, kind: 'ovf', path: resolvePath(ovf, baseDir) }
  if (!disks!.length) throw invalid(`VM "${name}" lists no disks; give at least one.`, origin)
  return { name, origin, overrides, kind: 'disks', disks: disks!.map((d) => ({ ...d, path: resolvePath(d.path, baseDir) })) }
}

function stem(file: string): string {
  return basename(file, extname(file))
}

async function scanPath(path: string): Promise<VmEntry[]> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    throw new GutsError('GUTS_NOT_FOUND', `The path ${path} (files driver option \`path\`) does not exist.`, {
      suggestions: ["Fix `path` in the plan; relative paths resolve against the plan's directory."],
      cause: error,
    })
  }
  const ext = extname(path).toLowerCase()
  if (info.isFile() && (ext === '.ova' || ext === '.ovf'))
    return [{ name: stem(path), origin: path, overrides: {}, kind: ext === '.ova' ? 'ova' : 'ovf', path }]
  if (!info.isDirectory()) {
    throw new GutsError('GUTS_PLAN_INVALID', `The path ${path} is neither a .ova/.ovf file nor a directory.`, {
      suggestions: ['To migrate loose disk images, list them under `vms: [{name, disks: [...]}]`.'],
    })
  }
  const out: VmEntry[] = []
  for (const dirent of await readdir(path, { withFileTypes: true })) {
    const full = join(path, dirent.name)
    const e = extname(dirent.name).toLowerCase()
    if (dirent.isFile() && (e === '.ova' || e === '.ovf'))
      out.push({ name: stem(dirent.name), origin: full, overrides: {}, kind: e === '.ova' ? 'ova' : 'ovf', path: full })
    else if (dirent.isDirectory() && !dirent.name.startsWith('.')) {
      const entry = await scanVmFolder(full)
      if (entry) out.push(entry)
    }
  }
  return out
}

/**
 * A VM folder: one .ovf (an OVF export) or one .ova, else its disk images in name order. A folder
 * with several packages is ambiguous and is refused rather than guessed at.
 */
async function scanVmFolder(dir: string): Promise<VmEntry | undefined> {
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => d.name)
    .sort()
  const packages = files.filter((f) => /\.(ova|ovf)$/i.test(f))
  const name = basename(dir)
  if (packages.length > 1) {
    throw new GutsError(
      'GUTS_CONFLICT',
      `The folder ${dir} holds ${packages.length} OVF/OVA packages (${packages.join(', ')}); guts cannot tell which one is the VM.`,
      {
        suggestions: ['Keep one package per folder, or list the VMs under `vms:` explicitly.'],
      },
    )
  }
  if (packages[0]) {
    const kind = packages[0].toLowerCase().endsWith('.ova') ? 'ova' : 'ovf'
    return { name, origin: dir, overrides: {}, kind, path: join(dir, packages[0]) }
  }
  const disks = files.filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) && !VMDK_SIDE_FILE.test(f))
  if (!disks.length) return undefined
  return { name, origin: dir, overrides: {}, kind: 'disks', disks: disks.map((f) => ({ path: join(dir, f) })) }
}
