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
  type PowerOffOptions,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { resolveConfig, type HypervConfig } from './config.js'
import { describeVm, listVms } from './inventory.js'
import type { HypervOptions } from './options.js'
import { powerOffVm, powerOnVm } from './power.js'
import { preflightFindings } from './preflight.js'
import { beginCheckpoint, beginCold } from './export/begin.js'
import { diskSource } from './export/disk.js'
import { endCheckpoint, releaseCheckpoints } from './export/checkpoints.js'
import { sessionData, sessionJson } from './export/session.js'
import { PowerShellRunner } from './transport/powershell.js'
import { SshConnection } from './transport/ssh-connection.js'

/**
 * Cold export of VMs that are off, live export of running ones through a checkpoint, and power
 * control. Disks are raw streams decoded from the VHDX/VHD files over SFTP, with random access.
 * No changed block tracking yet (warm migration through RCT is its own work).
 */
export const HYPERV_CAPABILITIES = sourceCapabilities({
  liveExport: true,
  changedBlocks: false,
  powerControl: true,
  diskAccess: ['stream'],
})

/** A standalone Hyper-V host as a migration source, over one SSH connection per driver instance. */
export class HypervSource implements SourceDriver {
  readonly name = 'hyperv'
  readonly apiVersion = 1 as const
  readonly capabilities = HYPERV_CAPABILITIES
  private config: HypervConfig | undefined
  private ssh: SshConnection | undefined
  private ps: PowerShellRunner | undefined

  constructor(private readonly options: HypervOptions) {}

  /** Connects over SSH (host key checked first) and asks the host who it is. Idempotent. */
  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    await this.transport(ctx).ssh.connect(ctx.signal)
  }

  private transport(ctx: DriverContext): { ssh: SshConnection; ps: PowerShellRunner; host: string; config: HypervConfig } {
    this.config ??= resolveConfig(this.options)
    this.ssh ??= new SshConnection(this.config.ssh, ctx.log)
    this.ps ??= new PowerShellRunner(this.ssh, this.config.ssh.host, ctx.log)
    return { ssh: this.ssh, ps: this.ps, host: this.config.ssh.host, config: this.config }
  }

  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    const t = this.transport(ctx)
    yield* await listVms(query, { ps: t.ps, host: t.host, signal: ctx.signal })
  }

  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    const t = this.transport(ctx)
    return describeVm(vm, { ps: t.ps, host: t.host, signal: ctx.signal })
  }

  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    throwIfAborted(ctx.signal)
    return preflightFindings(vm, options)
  }

  async powerOff(vm: VmRef, options: PowerOffOptions, ctx: DriverContext): Promise<void> {
    const t = this.transport(ctx)
    await powerOffVm(vm, options, { ps: t.ps, host: t.host, log: ctx.log, signal: ctx.signal })
  }

  async powerOn(vm: VmRef, ctx: DriverContext): Promise<void> {
    const t = this.transport(ctx)
    await powerOnVm(vm, { ps: t.ps, host: t.host, log: ctx.log, signal: ctx.signal })
  }

  /** Cold: the files of a VM that is off. Snapshot: a marked checkpoint and the files it froze. */
  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    const t = this.transport(ctx)
    if (options.changeTracking) {
      throw new GutsError(
        'GUTS_UNSUPPORTED',
        `${vm.name}: the hyperv driver has no changed block tracking yet, so it cannot run warm migrations.`,
      )
    }
    const deps = { ps: t.ps, host: vm.host ?? t.host, log: ctx.log, signal: ctx.signal }
    const data = options.mode === 'snapshot' ? await beginCheckpoint(vm, options, deps) : await beginCold(vm, deps)
    return { vm: { id: vm.id, name: vm.name }, mode: options.mode, data: sessionJson(data) }
  }

  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    throwIfAborted(ctx.signal)
    const t = this.transport(ctx)
    const data = sessionData(session)
    const disk = data.disks[diskId]
    const what = `${session.vm.name} disk ${diskId}`
    if (!disk) throw new GutsError('GUTS_NOT_FOUND', `Disk ${diskId} of ${session.vm.name} is not in the export.`, { ref: what })
    return diskSource(disk, what, {
      ssh: t.ssh,
      host: data.host,
      log: ctx.log,
      readConcurrency: t.config.readConcurrency,
      signal: ctx.signal,
    })
  }

  /** A live export's checkpoint is removed (merged) whatever the outcome; cleanup runs even after an abort. */
  async endExport(session: ExportSession, _outcome: Outcome, ctx: DriverContext): Promise<void> {
    const data = sessionData(session)
    if (!data.checkpoint) return
    const t = this.transport(ctx)
    await endCheckpoint(session.vm, data.checkpoint, { ps: t.ps, host: data.host, log: ctx.log })
  }

  /** Removes the VM's checkpoints an export of this migration left (they bear its name). */
  async releaseLeftovers(vm: VmRef, marks: Readonly<Record<string, string>>, ctx: DriverContext): Promise<number> {
    const t = this.transport(ctx)
    return releaseCheckpoints(vm, marks, { ps: t.ps, host: t.host, log: ctx.log })
  }

  async dispose(): Promise<void> {
    const ssh = this.ssh
    this.ssh = undefined
    this.ps = undefined
    await ssh?.close()
  }
}
