import { createReadStream } from 'node:fs'
import { access, constants, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  GutsError,
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Finding,
  type Outcome,
  type SourceCapabilities,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { diskPaths, readVm, vmNames } from './vm-files.js'

/** Declared once: the driver module shows them to `guts drivers list`, instances use them. */
export const TEMPLATE_CAPABILITIES = sourceCapabilities({ diskAccess: ['stream'] })

/** The plan options of this driver (`source: {driver: template-source, directory: …}`). */
export interface TemplateSourceOptions {
  /** Directory holding one `<vm>.json` per VM. */
  directory: string
  /** Must match the directory's `.access-key` file when it has one: a stand-in for credentials. */
  accessKey?: string
}

/**
 * A source driver for VMs described by JSON files, serving their raw disk files as streams.
 * Every method shows what the contract expects of a real driver; see the comments.
 */
export class TemplateSourceDriver implements SourceDriver {
  readonly name = 'template-source'
  readonly apiVersion = 1 as const
  // Declare only what is implemented: the core and the conformance suites trust these flags.
  // No snapshots (liveExport), no CBT (changedBlocks), no power control; disks as streams.
  readonly capabilities: SourceCapabilities = TEMPLATE_CAPABILITIES
  private connected = false

  constructor(private readonly options: TemplateSourceOptions) {}

  /**
   * Idempotent. Check reachability and credentials here, once, with errors that say what to fix:
   * GUTS_UNREACHABLE for "cannot get there", GUTS_AUTH_FAILED for "got there, was refused".
   */
  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    if (this.connected) return
    const { directory } = this.options
    const info = await stat(directory).catch(() => undefined)
    if (!info?.isDirectory()) {
      throw new GutsError('GUTS_UNREACHABLE', `The source directory ${directory} does not exist or is not a directory.`, {
        suggestions: ['Set `directory` in the plan to a directory of <vm>.json files.'],
      })
    }
    const expected = await readFile(join(directory, '.access-key'), 'utf8').then(
      (k) => k.trim(),
      () => undefined,
    )
    if (expected !== undefined && this.options.accessKey !== expected) {
      // Never echo the key: it is listed in secretOptions so the core never logs it either.
      throw new GutsError('GUTS_AUTH_FAILED', `The access key for ${directory} is wrong.`, {
        suggestions: ["Check `accessKey` in the plan against the directory's .access-key file."],
      })
    }
    this.connected = true
    ctx.log.debug('template-source connected', { directory })
  }

  /** An async iterable, so that drivers of big inventories can page instead of loading all. */
  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    this.ready(ctx)
    const pattern = query.name ? globToRegExp(query.name) : undefined
    for (const name of await vmNames(this.options.directory)) {
      throwIfAborted(ctx.signal)
      if (pattern && !pattern.test(name)) continue
      // These VMs are files: always "off". A real driver reports the hypervisor's power state.
      if (query.powerState && query.powerState !== 'off') continue
      yield { id: name, name, powerState: 'off' }
    }
  }

  /** Everything the core plans with. Unknown VM → GUTS_NOT_FOUND. */
  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    this.ready(ctx)
    return readVm(this.options.directory, vm.id)
  }

  /** Report every problem at once, change nothing: the user fixes them all in one go. */
  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    this.ready(ctx)
    const findings: Finding[] = []
    if (options.mode === 'snapshot') {
      findings.push({
        severity: 'error',
        code: 'live-export-unsupported',
        message: 'template-source exports powered-off VMs only: use mode: cold.',
        ref: vm.name,
      })
    }
    const paths = await diskPaths(this.options.directory, vm.id)
    for (const disk of vm.disks) {
      const path = paths[disk.id]
      const readable =
        path !== undefined &&
        (await access(path, constants.R_OK).then(
          () => true,
          () => false,
        ))
      if (!readable) findings.push({ severity: 'error', code: 'disk-unreadable', message: `Cannot read ${path ?? disk.id}.`, ref: disk.id })
      else if (disk.virtualSize % 512 !== 0) {
        findings.push({
          severity: 'warning',
          code: 'disk-size-unaligned',
          message: `${path} is not a multiple of 512 bytes; some hypervisors round it up.`,
          ref: disk.id,
        })
      }
    }
    return findings
  }

  /**
   * Take what the export needs (a real driver: snapshot, export lease) and return it as plain
   * JSON: the core persists the session and may call openDisk/endExport from another process.
   * Here: the disk paths and sizes, so a file that changes mid-migration is detected.
   */
  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    this.ready(ctx)
    const paths = await diskPaths(this.options.directory, vm.id)
    const disks = Object.fromEntries(vm.disks.map((d) => [d.id, { path: paths[d.id] ?? '', size: d.virtualSize }]))
    return { vm: { id: vm.id, name: vm.name }, mode: options.mode, data: { disks } }
  }

  /** A stream DiskSource: the core pulls the raw bytes and picks the copy route itself. */
  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    this.ready(ctx)
    const disk = (session.data.disks as Record<string, { path: string; size: number }> | undefined)?.[diskId]
    if (!disk) throw new GutsError('GUTS_NOT_FOUND', `VM ${session.vm.name} has no disk ${diskId}.`, { ref: diskId })
    const { size } = await stat(disk.path)
    if (size !== disk.size) {
      throw new GutsError('GUTS_CONFLICT', `${disk.path} changed size during the export (${disk.size} → ${size} bytes).`, {
        suggestions: ['Stop whatever writes to the disk, then run the migration again.'],
      })
    }
    const { path } = disk
    return {
      kind: 'stream',
      format: 'raw',
      virtualSize: size,
      // Opened lazily and once per read, honouring the core's signal (it fires on cancel).
      async open(signal: AbortSignal) {
        throwIfAborted(signal)
        return createReadStream(path, { signal })
      },
    }
  }

  /** Idempotent, whatever the outcome: a real driver deletes its snapshot / releases the lease. */
  async endExport(_session: ExportSession, _outcome: Outcome, ctx: DriverContext): Promise<void> {
    ctx.log.debug('template-source: nothing to release')
  }

  /** Idempotent. Close connections; nothing is open here. */
  async dispose(): Promise<void> {
    this.connected = false
  }

  /** Every call checks the signal first (GUTS_ABORTED), then that connect ran. */
  private ready(ctx: DriverContext): void {
    throwIfAborted(ctx.signal)
    if (!this.connected) throw new GutsError('GUTS_DRIVER_ERROR', 'template-source: connect() was not called.')
  }
}

/** `app-*` → /^app-.*$/: plans select VMs with globs on their names. */
function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  )
}
