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

/**
 * Only what this driver implements: no live export, CBT or power control yet. `diskAccess` keeps
 * the SDK default (`stream`, the route NFC export will take); beginExport says it is not there.
 */
export const VMWARE_CAPABILITIES = sourceCapabilities({ liveExport: false, changedBlocks: false, powerControl: false, diskAccess: ['stream'] })

const EXPORT_MISSING =
  'Disk export from vSphere (ExportVm over an NFC lease) is not implemented yet in @guts/driver-vmware: this version lists and describes VMs and runs preflight only.'

/** vCenter or ESXi as a migration source, over one vim25 session per driver instance. */
export class VmwareSource implements SourceDriver {
  readonly name = 'vmware'
  readonly apiVersion = 1 as const
  readonly capabilities = VMWARE_CAPABILITIES
  private session: VimSession | undefined
  private config: VimConfig | undefined

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
    findings.push({ severity: 'error', code: 'export-unsupported', ref: vm.name, message: EXPORT_MISSING })
    return findings
  }

  async beginExport(_vm: VmDescriptor, _options: ExportOptions, _ctx: DriverContext): Promise<ExportSession> {
    throw new GutsError('GUTS_UNSUPPORTED', EXPORT_MISSING)
  }

  async openDisk(_session: ExportSession, _diskId: string, _ctx: DriverContext): Promise<DiskSource> {
    throw new GutsError('GUTS_UNSUPPORTED', EXPORT_MISSING)
  }

  /** Nothing was taken by beginExport, so nothing to release. */
  async endExport(_session: ExportSession, _outcome: Outcome, _ctx: DriverContext): Promise<void> {}

  async dispose(): Promise<void> {
    const s = this.session
    this.session = undefined
    await s?.close()
  }
}
