import {
  sourceCapabilities,
  throwIfAborted,
  type DiskSource,
  type DriverContext,
  type ExportOptions,
  type ExportSession,
  type Finding,
  type Outcome,
  type SourceDriver,
  type VmDescriptor,
  type VmQuery,
  type VmRef,
  type VmSummary,
} from '@guts/sdk'
import { resolveConfig, type VimConfig, type VmwareOptions } from './client/config.js'
import { VimSession } from './client/session.js'
import { describeVm } from './describe.js'
import { listVms } from './inventory.js'
import { preflightFindings } from './preflight.js'
import { asJson, beginColdExport, coldData, endColdExport, leaseDiskSource } from './export/cold.js'
import { keepLeaseAlive } from './export/lease.js'

/** Only what this driver implements: cold export as a raw stream; no live export, CBT or power control yet. */
export const VMWARE_CAPABILITIES = sourceCapabilities({ liveExport: false, changedBlocks: false, powerControl: false, diskAccess: ['stream'] })


/** vCenter or ESXi as a migration source, over one vim25 session per driver instance. */
export class VmwareSource implements SourceDriver {
  readonly name = 'vmware'
  readonly apiVersion = 1 as const
  readonly capabilities = VMWARE_CAPABILITIES
  private session: VimSession | undefined
  private config: VimConfig | undefined
  /** Lease keep-alive timers by lease id. */
  private readonly keepAlive = new Map<string, () => void>()

  constructor(private readonly options: VmwareOptions) {}

  /** Resolves options + GOVC_* and logs in (idempotent). Bad settings → GUTS_CONFIG_INVALID. */
  async connect(ctx: DriverContext): Promise<void> {
    throwIfAborted(ctx.signal)
    await this.sessionFor(ctx).connect(ctx.signal)
  }

  private sessionFor(ctx: DriverContext): VimSession {
    this.config ??= resolveConfig(this.options)
    this.session ??= new VimSession(this.config, ctx.log)
    return this.session
  }

  private async connected(ctx: DriverContext): Promise<VimSession> {
    const s = this.sessionFor(ctx)
    await s.connect(ctx.signal)
    return s
  }

  async *listVms(query: VmQuery, ctx: DriverContext): AsyncIterable<VmSummary> {
    const s = await this.connected(ctx)
    yield* listVms(s, query, { ...(this.config?.datacenter ? { datacenter: this.config.datacenter } : {}), signal: ctx.signal })
  }

  async describeVm(vm: VmRef, ctx: DriverContext): Promise<VmDescriptor> {
    return describeVm(await this.connected(ctx), vm, ctx.signal)
  }

  async preflight(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<Finding[]> {
    throwIfAborted(ctx.signal)
    const findings = preflightFindings(vm, options)
    if (options.mode === 'snapshot') {
      findings.push({ severity: 'error', code: 'export-mode-unsupported', ref: vm.name, message: `${vm.name}: snapshot export of running VMs is not implemented yet in the vmware driver; use mode: cold with the VM powered off.` })
    } else if (vm.powerState !== 'off') {
      findings.push({ severity: 'error', code: 'vm-not-powered-off', ref: vm.name, message: `${vm.name} is ${vm.powerState}: this driver version does not power VMs off. Shut it down before the cold export.` })
    }
    return findings
  }

  /** Cold only: ExportVm of a powered-off VM; the NFC lease is kept alive until endExport. */
  async beginExport(vm: VmDescriptor, options: ExportOptions, ctx: DriverContext): Promise<ExportSession> {
    const { data, stop } = await beginColdExport(await this.connected(ctx), vm, options, ctx.log, ctx.signal)
    this.keepAlive.set(data.lease, stop)
    return { vm: { id: vm.id, name: vm.name }, mode: options.mode, data: asJson(data) }
  }

  async openDisk(session: ExportSession, diskId: string, ctx: DriverContext): Promise<DiskSource> {
    throwIfAborted(ctx.signal)
    const s = await this.connected(ctx)
    const data = coldData(session)
    // Another process may open a disk of a lease begun elsewhere: keep it alive from here too.
    if (!this.keepAlive.has(data.lease)) {
      const lease = { type: 'HttpNfcLease', value: data.lease }
      this.keepAlive.set(data.lease, keepLeaseAlive(s, lease, (e) => ctx.log.warn('vSphere lease keep-alive failed', { error: (e as Error).message })))
    }
    return leaseDiskSource(s, data, diskId, session.vm.name)
  }

  /** Completes the lease on success, aborts it otherwise; a finished or vanished lease is fine. */
  async endExport(session: ExportSession, outcome: Outcome, ctx: DriverContext): Promise<void> {
    const data = coldData(session)
    this.keepAlive.get(data.lease)?.()
    this.keepAlive.delete(data.lease)
    await endColdExport(await this.connected(ctx), data, outcome === 'succeeded')
  }

  async dispose(): Promise<void> {
    for (const stop of this.keepAlive.values()) stop()
    this.keepAlive.clear()
    const s = this.session
    this.session = undefined
    await s?.close()
  }
}
