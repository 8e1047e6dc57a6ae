import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { GutsError, type DiskDescriptor, type Firmware, type NicDescriptor, type VmDescriptor } from '@guts/sdk'

/**
 * The "hypervisor API" of this template: a directory of `<name>.json` files, one per VM.
 * A real driver replaces this file with calls to its hypervisor (REST, SOAP, WinRM…); the
 * driver class in driver.ts only depends on the three functions exported here.
 *
 * ```json
 * { "cpus": 2, "memoryMiB": 2048, "firmware": "bios",
 *   "disks": [{ "path": "web-01-disk0.raw", "controller": "scsi" }],
 *   "nics": [{ "mac": "52:54:00:aa:bb:01", "network": "VM Network" }] }
 * ```
 * Disk paths are raw files, relative to the directory or absolute.
 */

interface VmFile {
  cpus: number
  memoryMiB: number
  firmware: Firmware
  secureBoot?: boolean
  os?: { family: 'linux' | 'windows' | 'other'; distro?: string; version?: string }
  disks: { path: string; controller?: DiskDescriptor['controller']; name?: string }[]
  nics?: { mac: string; network: string; model?: NicDescriptor['model']; ipAddresses?: string[] }[]
}

/** The VM names (file names without `.json`), sorted so listings are stable. */
export async function vmNames(directory: string): Promise<string[]> {
  const entries = await readdir(directory)
  return entries
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort()
}

/**
 * Reads and checks one VM file. Unknown VM → GUTS_NOT_FOUND (the contract asks for it); a
 * malformed file → GUTS_DRIVER_ERROR naming the file, so the user knows what to fix.
 */
export async function readVm(directory: string, name: string): Promise<VmDescriptor> {
  // The id comes from plans and state files: never let it escape the directory.
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw notFound(name)
  const file = join(directory, `${name}.json`)
  let vm: VmFile
  try {
    vm = JSON.parse(await readFile(file, 'utf8')) as VmFile
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(name)
    throw new GutsError('GUTS_DRIVER_ERROR', `${file} is not valid JSON.`, { cause: error, ref: file })
  }
  if (!Array.isArray(vm.disks) || vm.disks.length === 0) {
    throw new GutsError('GUTS_DRIVER_ERROR', `${file} describes no disks.`, {
      ref: file,
      suggestions: ['Add "disks": [{"path": "disk.raw"}].'],
    })
  }
  const disks: DiskDescriptor[] = []
  for (const [index, disk] of vm.disks.entries()) {
    const path = diskPath(directory, disk.path)
    // The guest sees a raw file's length as its disk size.
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    )
    if (!size) throw new GutsError('GUTS_NOT_FOUND', `Disk ${disk.path} of VM ${name} is missing or empty.`, { ref: path })
    disks.push({
      id: `disk-${index}`,
      index,
      virtualSize: size,
      format: 'raw',
      ...(disk.controller ? { controller: disk.controller } : {}),
      ...(disk.name ? { name: disk.name } : {}),
    })
  }
  return {
    id: name,
    name,
    powerState: 'off',
    cpus: vm.cpus,
    memoryMiB: vm.memoryMiB,
    firmware: vm.firmware,
    secureBoot: vm.secureBoot ?? false,
    os: vm.os ?? { family: 'other' },
    disks,
    nics: (vm.nics ?? []).map((nic, i) => ({
      id: `nic-${i}`,
      // The contract wants lower-case MACs; hypervisors disagree on case, so normalise here.
      mac: nic.mac.toLowerCase(),
      network: nic.network,
      ...(nic.model ? { model: nic.model } : {}),
      ...(nic.ipAddresses ? { ipAddresses: nic.ipAddresses } : {}),
    })),
    extra: { file },
  }
}

/** Absolute path of a disk file named in a VM file. */
export function diskPath(directory: string, path: string): string {
  return resolve(directory, path)
}

/** Where each disk of a VM lives, by disk id: what openDisk needs after a restart. */
export async function diskPaths(directory: string, name: string): Promise<Record<string, string>> {
  const file = JSON.parse(await readFile(join(directory, `${name}.json`), 'utf8')) as VmFile
  return Object.fromEntries(file.disks.map((d, i) => [`disk-${i}`, diskPath(directory, d.path)]))
}

function notFound(name: string): GutsError {
  return new GutsError('GUTS_NOT_FOUND', `No VM named ${name}: there is no ${name}.json in the directory.`, {
    ref: name,
    suggestions: ['Check the name against the .json files in the source directory.'],
  })
}
