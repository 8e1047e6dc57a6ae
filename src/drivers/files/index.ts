import { dirname } from 'node:path'
import {
  GutsError,
  isGutsError,
  defineSourceDriver,
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Finding,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { isQemuJsonPath } from '../../tools/qemu-img.js'
import { buildCatalog, type VmEntry } from './catalog.js'
import { describeLoaded, filesFindings } from './describe.js'
import { checkFileReadable } from './disk-probe.js'
import { globToRegExp } from './glob.js'
import { filesOptionsSchema, type FilesOptions } from './options.js'
import { loadVm } from './package.js'

/** Declared once: the driver module shows them to `guts drivers list`, instances use them. */
export const FILES_CAPABILITIES = sourceCapabilities({ diskAccess: ['file'], liveExport: false, changedBlocks: false, powerControl: false })

/** What beginExport persists per disk: enough for openDisk in another process after a crash. */
interface SessionDisk {
  id: string
  path: string
  format: VmDescriptor['disks'][number]['format']
  virtualSize: number
  /** The real file behind `path` (the OVA for a `json:` path), checked again by openDisk. */
  file: string
}

/**
 * Source driver for VMs that exist only as files: OVA/OVF packages and loose disk images.
 * Disks are handed to the core as `file` sources. A disk inside an OVA is *not* extracted: its
 * path is a qemu-img `json:` pseudo-path that windows the tar member in place (raw driver
 * offset/size under the image format driver), which qemu-img 7.2 reads for info/convert/compare.
 * So beginExport/endExport create nothing, and endExport has nothing to remove.
 */
class FilesSource implements SourceDriver {
  readonly name = 'files'
  readonly apiVersion = 1 as const
  readonly capabilities = FILES_CAPABILITIES
  private catalog: VmEntry[] | undefined

  constructor(private readonly options: FilesOptions) {}

  async connect(_ctx: DriverContext): Promise<void> {
    // Rebuilt on every connect, so files added or removed between runs are seen.
    this.catalog = await buildCatalog(this.options)
  }

  private async entries(): Promise<VmEntry[]> {
    this.catalog ??= await buildCatalog(this.options)
    return this.catalog
  }

  private async entry(ref: VmRef): Promise<VmEntry> {
    const all = await this.entries()
    const found = all.find((e) => e.name === ref.id) ?? all.find((e) => e.name === ref.name)
    if (!found) {
      throw new GutsError('GUTS_NOT_FOUND', `No VM called "${ref.id || ref.name}" among the files given to the files driver.`, {
        suggestions: [
          all.length ? `Known VMs: ${all.map((e) => e.name).join(', ')}.` : 'The driver found no VM: check `path` and `vms` in the plan.',
          'Run `guts vm list --source <plan>` to see what the driver finds.',
        ],
        ref: ref.id || ref.name,
      })
    }
    return found
  }

  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    const pattern = query.name ? globToRegExp(query.name) : undefined
    for (const e of await this.entries()) {
      throwIfAborted(ctx.signal)
      const folder = dirname(e.kind === 'disks' ? e.disks[0]!.path : e.path)
      if (pattern && !pattern.test(e.name)) continue
      if (query.folder && !folder.startsWith(query.folder)) continue
      if (query.powerState && query.powerState !== 'off') continue
      yield { id: e.name, name: e.name, powerState: 'off', folder }
    }
  }

  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    const loaded = await loadVm(await this.entry(vm), ctx.signal)
    return (await describeLoaded(loaded, ctx.signal)).descriptor
  }

  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    const findings: Finding[] = []
    if (options.mode === 'snapshot') {
      findings.push({
        severity: 'error',
        code: 'live-export-unsupported',
        message: 'The files driver reads files at rest; use `mode: cold`.',
        ref: vm.name,
      })
    }
    let loaded
    try {
      loaded = await loadVm(await this.entry(vm), ctx.signal)
    } catch (error) {
      if (!isGutsError(error) || error.code === 'GUTS_ABORTED') throw error
      const code = error.code === 'GUTS_NOT_FOUND' ? 'package-missing' : 'package-unreadable'
      return [...findings, { severity: 'error', code, message: [error.message, ...error.suggestions].join(' '), ref: vm.name }]
    }
    return [...findings, ...(await filesFindings(loaded, vm, ctx.signal))]
  }

  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    if (options.mode !== 'cold') {
      throw new GutsError('GUTS_UNSUPPORTED', 'The files driver exports files at rest only; set `mode: cold` for this VM.', {
        ref: vm.name,
      })
    }
    const loaded = await loadVm(await this.entry(vm), ctx.signal)
    const { probes } = await describeLoaded(loaded, ctx.signal)
    const disks: SessionDisk[] = []
    for (const disk of loaded.disks) {
      const probe = probes.get(disk.id)!
      if (isGutsError(probe)) throw probe
      const described = vm.disks.find((d) => d.id === disk.id)
      if (!described || described.virtualSize !== probe.virtualSize) {
        throw new GutsError('GUTS_CONFLICT', `Disk ${disk.name} of ${vm.name} changed since the VM was described.`, {
          suggestions: ['Run the migration again so the VM is described afresh.'],
          ref: `${vm.name}/${disk.id}`,
        })
      }
      const file = disk.location.kind === 'file' ? disk.location.path : disk.location.ova
      disks.push({ id: disk.id, path: probe.path, format: probe.format, virtualSize: probe.virtualSize, file })
    }
    return { vm: { id: vm.id, name: vm.name }, mode: 'cold', data: { disks: disks.map((d) => ({ ...d })) } }
  }

  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    throwIfAborted(ctx.signal)
    const disks = (session.data.disks ?? []) as unknown as SessionDisk[]
    const disk = disks.find((d) => d.id === diskId)
    if (!disk) {
      throw new GutsError(
        'GUTS_NOT_FOUND',
        `The export session of ${session.vm.name} has no disk "${diskId}" (it has ${disks.map((d) => d.id).join(', ') || 'none'}).`,
        {
          ref: `${session.vm.name}/${diskId}`,
        },
      )
    }
    // The file may have gone since beginExport (another process may be resuming this session).
    await checkFileReadable(disk.file)
    ctx.log.debug('files: opening disk', { vm: session.vm.name, disk: diskId, inPlace: isQemuJsonPath(disk.path) })
    return { kind: 'file', path: disk.path, format: disk.format, virtualSize: disk.virtualSize }
  }

  async endExport(_session: ExportSession, _outcome: 'succeeded' | 'failed' | 'aborted', _ctx: DriverContext): Promise<void> {
    // Nothing to release: disks are read in place, nothing was extracted, no snapshot taken.
  }

  async dispose(): Promise<void> {
    this.catalog = undefined
  }
}

export default defineSourceDriver<FilesOptions>({
  capabilities: FILES_CAPABILITIES,
  name: 'files',
  description: 'VMs from OVA/OVF packages and disk image files (VMDK, VHDX, VHD, qcow2, raw), read in place',
  optionsSchema: filesOptionsSchema,
  create: (options) => new FilesSource(options ?? {}),
})

export { FilesSource }
