import {
  destinationCapabilities,
  isGutsError,
  throwIfAborted,
  type DestinationDriver,
  type DiskDescriptor,
  type DiskTarget,
  type DriverContext,
  type Finding,
  type ImportSession,
  type InstanceRef,
  type Outcome,
  type PlannedVm,
  type TargetMapping,
  type TransferResult,
  type UndoEntry,
  type VmDescriptor,
} from '@guts/sdk'
import { loadCloudConfig, OpenStackClient } from './client/index.js'
import { bootServer } from './boot.js'
import { commitImageDisk, openImageTarget } from './disks.js'
import type { OpenStackOptions } from './options.js'
import { findLeftovers } from './leftovers.js'
import { planQuotaFindings } from './plan-quota.js'
import { preflightFindings } from './preflight.js'
import { rollbackEntries } from './rollback.js'
import { diskOf, markTag, planImport, sessionData } from './session.js'
import { verifyServer } from './verify.js'

/** Declared once: the module shows them to `guts drivers list`, instances use them. */
export const OPENSTACK_CAPABILITIES = destinationCapabilities({
  diskTargets: ['image', 'volume'],
  acceptsFormats: ['qcow2', 'raw'],
  firmware: ['bios', 'uefi'],
  incremental: false,
})

/**
 * Lands a VM on OpenStack: a Glance image per disk (streamed), Cinder volumes for data disks and
 * for a volume-backed boot disk, a Neutron port per NIC, and a Nova server. Every resource is
 * recorded in the undo log before it is created, named `guts-<migration8>-<vm>-…` and marked with
 * the migration id (Glance/Neutron tag `guts:<id>`, Nova/Cinder metadata `guts-migration`).
 */
export class OpenStackDestination implements DestinationDriver {
  readonly name = 'openstack'
  readonly apiVersion = 1 as const
  readonly capabilities = OPENSTACK_CAPABILITIES
  private client?: OpenStackClient

  constructor(private readonly options: OpenStackOptions) {}

  /** Reads the cloud settings and logs in (idempotent). */
  async connect(ctx: DriverContext): Promise<void> {
    await this.clientFor(ctx).http.projectId(ctx.signal)
  }

  /** The client, built on first use; a bad clouds.yaml surfaces here as GUTS_CONFIG_INVALID. */
  private clientFor(ctx: DriverContext): OpenStackClient {
    this.client ??= new OpenStackClient(loadCloudConfig(this.options), ctx.log)
    return this.client
  }

  async preflight(vm: VmDescriptor, mapping: TargetMapping, ctx: DriverContext): Promise<Finding[]> {
    let client: OpenStackClient
    try {
      client = this.clientFor(ctx)
    } catch (error) {
      if (!isGutsError(error)) throw error
      return [{ severity: 'error', code: 'config-invalid', message: error.message, ref: vm.name }]
    }
    return preflightFindings(client, this.options, vm, mapping, ctx)
  }

  async beginImport(vm: VmDescriptor, mapping: TargetMapping, _ctx: DriverContext): Promise<ImportSession> {
    // Nothing is created yet: the session is the plan, so a crash here leaves nothing to undo.
    const data = planImport(vm, mapping, this.options)
    return { vm: { id: vm.id, name: vm.name }, data: JSON.parse(JSON.stringify(data)) }
  }

  async openDiskTarget(session: ImportSession, disk: DiskDescriptor, ctx: DriverContext): Promise<DiskTarget> {
    throwIfAborted(ctx.signal)
    const data = sessionData(session)
    return openImageTarget(this.clientFor(ctx), data, diskOf(data, disk.id, session.vm.name), ctx)
  }

  async commitDisk(session: ImportSession, disk: DiskDescriptor, result: TransferResult, ctx: DriverContext): Promise<void> {
    const data = sessionData(session)
    await commitImageDisk(this.clientFor(ctx), data, diskOf(data, disk.id, session.vm.name), result, ctx)
  }

  async boot(session: ImportSession, ctx: DriverContext): Promise<InstanceRef> {
    return bootServer(this.clientFor(ctx), sessionData(session), session.vm.name, ctx)
  }

  async verify(session: ImportSession, instance: InstanceRef, ctx: DriverContext): Promise<Finding[]> {
    return verifyServer(this.clientFor(ctx), sessionData(session), instance, session.vm.name, ctx)
  }

  async rollback(session: ImportSession | undefined, undo: readonly UndoEntry[], ctx: DriverContext): Promise<void> {
    const mark = session ? sessionData(session).mark : undefined
    await rollbackEntries(this.clientFor(ctx), undo, mark, ctx)
  }

  /** Everything carrying the marks (a crashed run's leftovers), as undo entries for `rollback`. */
  async findLeftovers(marks: Readonly<Record<string, string>>, ctx: DriverContext): Promise<UndoEntry[]> {
    return findLeftovers(this.clientFor(ctx), marks, ctx)
  }

  /** Quotas against the whole plan's needs: VMs that each fit alone may not fit together. */
  async preflightPlan(vms: readonly PlannedVm[], ctx: DriverContext): Promise<Finding[]> {
    let client: OpenStackClient
    try {
      client = this.clientFor(ctx)
    } catch (error) {
      if (!isGutsError(error)) throw error
      // Each VM's own preflight reports a bad configuration; nothing to add here.
      return []
    }
    return planQuotaFindings(client, this.options, vms, ctx)
  }

  /**
   * After success, images that became volumes are no longer needed (the server boots from the
   * volumes). The boot image of an image-backed server stays: Nova may need it to rebuild.
   */
  async endImport(session: ImportSession, outcome: Outcome, ctx: DriverContext): Promise<void> {
    if (outcome !== 'succeeded') return
    const data = sessionData(session)
    const client = this.clientFor(ctx)
    for (const disk of data.disks) {
      if (!disk.volumeName) continue
      for (const image of await client.glance.findByName(disk.imageName, [markTag(data.mark)], ctx.signal))
        await client.glance.delete(image.id, ctx.signal)
    }
  }

  async dispose(): Promise<void> {
    const client = this.client
    this.client = undefined
    await client?.close()
  }
}
