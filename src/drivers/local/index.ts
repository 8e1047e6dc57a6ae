import { mkdir, rm, rmdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import {
  GutsError,
  defineDestinationDriver,
  destinationCapabilities,
  throwIfAborted,
  type DestinationDriver,
  type DiskDescriptor,
  type DiskTarget,
  type DriverContext,
  type Finding,
  type ImportSession,
  type InstanceRef,
  type Outcome,
  type TargetMapping,
  type TransferResult,
  type UndoEntry,
  type VmDescriptor,
} from '@guts/sdk'
import { buildManifest, COMMITS, MANIFEST, planImport, readCommits, sessionData, writeJsonAtomic } from './manifest.js'
import { ACCEPTED_FORMATS, checkVmName, localOptionsSchema, resolveDirectory, targetFormat, type LocalOptions } from './options.js'
import { localFindings } from './preflight.js'
import { verifyLocal } from './verify.js'

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

function ignoreCodes(...codes: string[]) {
  return (error: unknown) => {
    if (!codes.includes((error as NodeJS.ErrnoException).code ?? '')) throw error
  }
}

/** Declared once: the driver module shows them to `guts drivers list`, instances use them. */
export const LOCAL_CAPABILITIES = destinationCapabilities({
  diskTargets: ['file'],
  acceptsFormats: ['qcow2', 'raw'],
  firmware: ['bios', 'uefi'],
  incremental: false,
})

/**
 * Destination driver that "imports" a VM into a local folder: one image per disk, written by the
 * core's qemu-img convert, plus a vm.json manifest. Useful on its own (hand the folder to libvirt,
 * Proxmox or a later upload) and as the offline destination for tests and the quickstart.
 */
class LocalDestination implements DestinationDriver {
  readonly name = 'local'
  readonly apiVersion = 1 as const
  readonly capabilities = LOCAL_CAPABILITIES
  private readonly directory: string

  constructor(private readonly options: LocalOptions) {
    this.directory = resolveDirectory(options)
  }

  async connect(_ctx: DriverContext): Promise<void> {
    // Nothing to connect to; problems with the directory are preflight findings.
  }

  async preflight(vm: VmDescriptor, mapping: TargetMapping, _ctx: DriverContext): Promise<Finding[]> {
    return localFindings(this.directory, this.options, vm, mapping)
  }

  async beginImport(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<ImportSession> {
    const nameProblem = checkVmName(mapping.name)
    if (nameProblem) throw new GutsError('GUTS_PLAN_INVALID', nameProblem, { ref: vm.name })
    const format = targetFormat(this.options, mapping)
    if (!ACCEPTED_FORMATS.includes(format)) {
      throw new GutsError('GUTS_UNSUPPORTED', `The local destination writes qcow2 or raw images, not ${format}.`, {
        suggestions: ['Set diskFormat to qcow2 or raw.'],
        ref: vm.name,
      })
    }
    const vmDir = join(this.directory, mapping.name)
    if (await exists(join(vmDir, MANIFEST))) {
      throw new GutsError(
        'GUTS_CONFLICT',
        `${join(vmDir, MANIFEST)} exists: a previous migration wrote this VM, and guts will not overwrite it.`,
        {
          suggestions: ['Move or delete that folder, or give the VM another name in the plan.'],
          ref: vm.name,
        },
      )
    }
    // Recorded first, so a rollback after a crash removes the folder (only if it is empty).
    await ctx.recordUndo({ kind: 'directory', ref: vmDir })
    await mkdir(vmDir, { recursive: true })
    const data = planImport(vm, mapping, vmDir, format)
    return { vm: { id: vm.id, name: vm.name }, data: JSON.parse(JSON.stringify(data)) }
  }

  async openDiskTarget(session: ImportSession, disk: DiskDescriptor, ctx: DriverContext): Promise<DiskTarget> {
    throwIfAborted(ctx.signal)
    const data = sessionData(session)
    const target = data.disks.find((d) => d.id === disk.id)
    if (!target) {
      throw new GutsError(
        'GUTS_NOT_FOUND',
        `The import of ${session.vm.name} has no disk "${disk.id}" (it has ${data.disks.map((d) => d.id).join(', ')}).`,
        { ref: `${session.vm.name}/${disk.id}` },
      )
    }
    await ctx.recordUndo({ kind: 'file', ref: target.path })
    return { kind: 'file', path: target.path, format: data.format }
  }

  async commitDisk(session: ImportSession, disk: DiskDescriptor, result: TransferResult, ctx: DriverContext): Promise<void> {
    const data = sessionData(session)
    const target = data.disks.find((d) => d.id === disk.id)
    if (!target || !(await exists(target.path))) {
      throw new GutsError(
        'GUTS_STATE_ERROR',
        `Disk ${disk.id} of ${session.vm.name} was committed, but its file ${target?.path ?? '(unknown)'} does not exist.`,
        {
          suggestions: ['Resume the migration so the disk is copied again.'],
          ref: `${session.vm.name}/${disk.id}`,
        },
      )
    }
    if (result.format !== data.format) {
      throw new GutsError(
        'GUTS_STATE_ERROR',
        `Disk ${disk.id} was written as ${result.format}, but the local destination asked for ${data.format}.`,
        { ref: `${session.vm.name}/${disk.id}` },
      )
    }
    const commitsPath = join(data.vmDir, COMMITS)
    // Disks of a VM commit concurrently: serialise the read-modify-write of the shared commits file.
    await serialised(commitsPath, async () => {
      await ctx.recordUndo({ kind: 'file', ref: commitsPath })
      const commits = await readCommits(data.vmDir)
      commits[disk.id] = { ...result }
      await writeJsonAtomic(commitsPath, commits)
    })
  }

  async boot(session: ImportSession, ctx: DriverContext): Promise<InstanceRef> {
    const data = sessionData(session)
    for (const d of data.disks) {
      if (!(await exists(d.path))) {
        throw new GutsError('GUTS_STATE_ERROR', `Cannot finish ${session.vm.name}: disk ${d.id} (${d.path}) was never written.`, {
          suggestions: ['Resume the migration so the disk is copied again.'],
          ref: `${session.vm.name}/${d.id}`,
        })
      }
    }
    const manifestPath = join(data.vmDir, MANIFEST)
    const name = data.vmDir.split(/[/\\]/).pop()!
    await ctx.recordUndo({ kind: 'file', ref: manifestPath })
    await writeJsonAtomic(manifestPath, buildManifest(name, data, await readCommits(data.vmDir)))
    ctx.log.info('local: VM written', { directory: data.vmDir })
    return { id: data.vmDir, data: { directory: data.vmDir, manifest: manifestPath } }
  }

  async verify(session: ImportSession, _instance: InstanceRef, ctx: DriverContext): Promise<Finding[]> {
    return verifyLocal(sessionData(session), session.vm.name, ctx.signal)
  }

  async rollback(session: ImportSession | undefined, undo: readonly UndoEntry[], ctx: DriverContext): Promise<void> {
    const dirs: string[] = []
    for (const entry of undo) {
      if (entry.kind === 'file') {
        await rm(entry.ref, { force: true })
        if (entry.ref.endsWith('.json')) await rm(`${entry.ref}.tmp`, { force: true })
        dirs.push(dirname(entry.ref))
      } else if (entry.kind === 'directory') {
        dirs.push(entry.ref)
      } else {
        ctx.log.warn('local: ignoring an undo entry of another kind', { kind: entry.kind, ref: entry.ref })
      }
    }
    if (session) dirs.push(sessionData(session).vmDir)
    // Only empty folders go: anything else in them was not made by this import.
    for (const dir of new Set(dirs)) await rmdir(dir).catch(ignoreCodes('ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'))
  }

  async endImport(session: ImportSession, outcome: Outcome, _ctx: DriverContext): Promise<void> {
    // After success vm.json holds every transfer result; on failure the sidecar stays for rollback.
    if (outcome === 'succeeded') await rm(join(sessionData(session).vmDir, COMMITS), { force: true })
  }

  async dispose(): Promise<void> {}
}

export default defineDestinationDriver<LocalOptions>({
  capabilities: LOCAL_CAPABILITIES,
  name: 'local',
  description: 'Writes VMs to a local folder: qcow2 or raw disk images plus a vm.json manifest',
  optionsSchema: localOptionsSchema,
  create: (options) => new LocalDestination(options),
})

export { LocalDestination }

const queues = new Map<string, Promise<unknown>>()

/** Runs `fn` after every earlier call with the same key has settled (one process owns a migration). */
function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const next = (queues.get(key) ?? Promise.resolve()).then(fn, fn)
  const tail = next.catch(() => undefined)
  queues.set(key, tail)
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key)
  })
  return next
}
