import { createWriteStream, existsSync, mkdtempSync } from 'node:fs'
import { rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addAbortSignal, type Writable } from 'node:stream'
import type { DriverContext, UndoEntry } from '../context.js'
import { destinationCapabilities } from '../define.js'
import type { DestinationCapabilities, DestinationDriver, DiskTarget, ImportSession, InstanceRef, TargetMapping } from '../destination.js'
import { GutsError, throwIfAborted } from '../errors.js'
import type { DiskDescriptor, DiskFormat, Finding, Outcome, TransferResult, VmDescriptor } from '../model.js'

/** Options of {@link fakeDestinationDriver}. */
export interface FakeDestinationOptions {
  /** Where disks land. Default: a temporary directory made at connect, removed at dispose. */
  dir?: string
  /** The kind of DiskTarget it hands out. Default `stream`. */
  targetKind?: 'stream' | 'file'
  /** Disk format when the mapping has no `diskFormat`. Default `raw`. */
  format?: 'raw' | 'qcow2'
}

/** Flavors the fake destination knows; any other `mapping.flavor` is an error. */
export const FAKE_DESTINATION_FLAVORS: readonly string[] = Object.freeze(['m1.small', 'm1.medium', 'm1.large'])

/**
 * A destination driver that writes each disk to `<dir>/<mapping.name>-<disk id>.<format>`
 * (through a `stream` target by default) and "boots" by writing an instance file. Every file is
 * recorded as an undo entry `{kind: 'file', ref: path}` before it is created, and rollback
 * deletes them. Pair it with a source driver in {@link pipelineSuite}; {@link readBackFakeDisk}
 * finds the disks it wrote.
 */
export function fakeDestinationDriver(options: FakeDestinationOptions = {}): DestinationDriver {
  return new FakeDestination(options)
}

/** `pipelineSuite`'s `destination.readBack` for the fake: where a booted disk landed. */
export async function readBackFakeDisk(instance: InstanceRef, disk: DiskDescriptor): Promise<{ path: string; format: DiskFormat }> {
  const landed = (instance.data.disks as Record<string, { path: string; format: DiskFormat }> | undefined)?.[disk.id]
  if (!landed) throw new GutsError('GUTS_NOT_FOUND', `Instance ${instance.id} has no disk ${disk.id}.`)
  return landed
}

/** A type alias, not an interface, so it is assignable to JsonObject. */
type SessionData = {
  dir: string
  name: string
  format: DiskFormat
  flavor: string | null
  disks: { id: string; virtualSize: number }[]
}

class FakeDestination implements DestinationDriver {
  readonly name = 'fake-destination'
  readonly apiVersion = 1 as const
  readonly capabilities: DestinationCapabilities = destinationCapabilities({ diskTargets: ['file'], acceptsFormats: ['raw', 'qcow2'] })
  private dir: string | undefined
  private ownDir = false

  constructor(private readonly options: FakeDestinationOptions) {}

  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    if (this.dir) return
    this.ownDir = this.options.dir === undefined
    this.dir = this.options.dir ?? mkdtempSync(join(tmpdir(), 'guts-fake-destination-'))
  }

  async preflight(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<Finding[]> {
    this.ready(ctx)
    const findings: Finding[] = []
    if (mapping.flavor !== undefined && !FAKE_DESTINATION_FLAVORS.includes(mapping.flavor)) {
      findings.push({
        severity: 'error',
        code: 'flavor-not-found',
        message: `Flavor ${mapping.flavor} does not exist; use one of ${FAKE_DESTINATION_FLAVORS.join(', ')}.`,
        ref: vm.name,
      })
    }
    if (!this.capabilities.acceptsFormats.includes(this.formatFor(mapping))) {
      findings.push({
        severity: 'error',
        code: 'format-unsupported',
        message: `Disk format ${this.formatFor(mapping)} is not supported.`,
        ref: vm.name,
      })
    }
    return findings
  }

  async beginImport(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<ImportSession> {
    const dir = this.ready(ctx)
    // Nothing is created yet: the session only says where things will go.
    const data: SessionData = {
      dir,
      name: mapping.name,
      format: this.formatFor(mapping),
      flavor: mapping.flavor ?? null,
      disks: vm.disks.map((d) => ({ id: d.id, virtualSize: d.virtualSize })),
    }
    return { vm: { id: vm.id, name: vm.name }, data }
  }

  async openDiskTarget(session: ImportSession, disk: DiskDescriptor, ctx: DriverContext): Promise<DiskTarget> {
    this.ready(ctx)
    const { format } = sessionData(session)
    const path = diskPath(session, disk.id)
    // Recorded before anything exists, so a crash right after still leaves a way to delete it.
    await ctx.recordUndo({ kind: 'file', ref: path })
    if (this.options.targetKind === 'file') return { kind: 'file', path, format }
    return {
      kind: 'stream',
      format,
      async open(signal: AbortSignal): Promise<Writable> {
        throwIfAborted(signal)
        return addAbortSignal(signal, createWriteStream(path))
      },
    }
  }

  async commitDisk(session: ImportSession, disk: DiskDescriptor, result: TransferResult, ctx: DriverContext): Promise<void> {
    this.ready(ctx)
    const path = diskPath(session, disk.id)
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    )
    if (size === undefined) throw new GutsError('GUTS_VERIFY_FAILED', `Disk ${disk.id} was committed but ${path} does not exist.`)
    if (result.format === 'raw' && size !== disk.virtualSize) {
      throw new GutsError('GUTS_VERIFY_FAILED', `Disk ${disk.id}: ${size} bytes written, ${disk.virtualSize} expected.`)
    }
  }

  async boot(session: ImportSession, ctx: DriverContext): Promise<InstanceRef> {
    this.ready(ctx)
    const data = sessionData(session)
    if (data.flavor !== null && !FAKE_DESTINATION_FLAVORS.includes(data.flavor)) {
      throw new GutsError('GUTS_NOT_FOUND', `Flavor ${data.flavor} does not exist.`, { ref: data.name })
    }
    const disks = Object.fromEntries(data.disks.map((d) => [d.id, { path: diskPath(session, d.id), format: data.format }]))
    const instance: InstanceRef = { id: `fake-${data.name}`, data: { disks } }
    const marker = join(data.dir, `${data.name}.instance.json`)
    await ctx.recordUndo({ kind: 'file', ref: marker })
    await writeFile(marker, JSON.stringify(instance))
    return instance
  }

  async verify(session: ImportSession, _instance: InstanceRef, ctx: DriverContext): Promise<Finding[]> {
    this.ready(ctx)
    const data = sessionData(session)
    const findings: Finding[] = []
    for (const disk of data.disks) {
      if (!existsSync(diskPath(session, disk.id)))
        findings.push({ severity: 'error', code: 'disk-missing', message: `Disk ${disk.id} is missing.`, ref: disk.id })
    }
    return findings
  }

  async rollback(_session: ImportSession | undefined, undo: readonly UndoEntry[], ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    // Only the entries: they name everything this driver ever created, even before a session existed.
    for (const entry of undo) if (entry.kind === 'file') await rm(entry.ref, { force: true })
  }

  async endImport(_session: ImportSession, _outcome: Outcome, _ctx: DriverContext): Promise<void> {
    // No staging or temporary images to release.
  }

  async dispose(): Promise<void> {
    if (this.dir && this.ownDir) await rm(this.dir, { recursive: true, force: true })
    this.dir = undefined
  }

  private formatFor(mapping: TargetMapping): DiskFormat {
    return mapping.diskFormat ?? this.options.format ?? 'raw'
  }

  private ready(ctx: DriverContext): string {
    throwIfAborted(ctx.signal)
    if (!this.dir) throw new GutsError('GUTS_DRIVER_ERROR', 'The fake destination is not connected: call connect first.')
    return this.dir
  }
}

function sessionData(session: ImportSession): SessionData {
  return session.data as unknown as SessionData
}

function diskPath(session: ImportSession, diskId: string): string {
  const { dir, name, format } = sessionData(session)
  return join(dir, `${name}-${diskId}.${format}`)
}
