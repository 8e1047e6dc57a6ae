import { readFile, rename, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { DiskFormat, ImportSession, JsonObject, TargetMapping, TransferResult, VmDescriptor } from '@guts/sdk'

/** What beginImport persists (as session.data) so that any later process can finish the import. */
export interface LocalSessionData {
  vmDir: string
  format: DiskFormat
  vm: {
    sourceId: string
    sourceName: string
    cpus: number
    memoryMiB: number
    firmware: VmDescriptor['firmware']
    secureBoot: boolean
    os: JsonObject
    nics: JsonObject[]
    tags: JsonObject
  }
  disks: { id: string; index: number; path: string; sourceVirtualSize: number; controller: string | null }[]
}

export const MANIFEST = 'vm.json'
/** Transfer results of committed disks, kept on disk because commitDisk may run in another process. */
export const COMMITS = '.guts-commits.json'

export function sessionData(session: ImportSession): LocalSessionData {
  return session.data as unknown as LocalSessionData
}

export function diskPath(vmDir: string, name: string, index: number, format: DiskFormat): string {
  return join(vmDir, `${name}-disk${index}.${format}`)
}

/** The session data for a VM: NICs with their mapped networks, disks with their target files. */
export function planImport(vm: VmDescriptor, mapping: TargetMapping, vmDir: string, format: DiskFormat): LocalSessionData {
  const nics = vm.nics.map((nic) => {
    const net = mapping.networks.find((n) => n.from === nic.network)
    return {
      id: nic.id,
      mac: nic.mac,
      keepMac: net?.keepMac ?? true,
      sourceNetwork: nic.network,
      network: net?.to ?? null,
      ...(net?.fixedIp ? { fixedIp: net.fixedIp } : {}),
      ...(nic.model ? { model: nic.model } : {}),
    }
  })
  return {
    vmDir,
    format,
    vm: {
      sourceId: vm.id,
      sourceName: vm.name,
      cpus: vm.cpus,
      memoryMiB: vm.memoryMiB,
      firmware: vm.firmware,
      secureBoot: vm.secureBoot,
      os: { ...vm.os },
      nics,
      tags: { ...mapping.tags },
    },
    disks: [...vm.disks]
      .sort((a, b) => a.index - b.index)
      .map((d) => ({
        id: d.id,
        index: d.index,
        path: diskPath(vmDir, basename(vmDir), d.index, format),
        sourceVirtualSize: d.virtualSize,
        controller: d.controller ?? null,
      })),
  }
}

export async function readCommits(vmDir: string): Promise<Record<string, TransferResult>> {
  try {
    return JSON.parse(await readFile(join(vmDir, COMMITS), 'utf8')) as Record<string, TransferResult>
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw error
  }
}

/** Write-then-rename, so a crash never leaves a half-written JSON file behind. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 })
  await rename(tmp, path)
}

export function buildManifest(name: string, data: LocalSessionData, commits: Record<string, TransferResult>): JsonObject {
  return {
    manifestVersion: 1,
    name,
    source: { id: data.vm.sourceId, name: data.vm.sourceName },
    cpus: data.vm.cpus,
    memoryMiB: data.vm.memoryMiB,
    firmware: data.vm.firmware,
    secureBoot: data.vm.secureBoot,
    os: data.vm.os,
    nics: data.vm.nics,
    disks: data.disks.map((d) => {
      const r = commits[d.id]
      return {
        id: d.id,
        index: d.index,
        file: basename(d.path),
        format: data.format,
        virtualSize: r?.virtualSize ?? d.sourceVirtualSize,
        controller: d.controller,
        sha256: r?.sha256 ?? null,
        bytesWritten: r?.bytesWritten ?? null,
        route: r?.route ?? null,
      }
    }),
    tags: data.vm.tags,
  }
}
