import type { DriverContext, UndoEntry } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import { markMetadata, markTag, sourceTag } from './session.js'

/**
 * Undo entries for everything in the project that carries all of `marks` — what a run left when
 * its undo entries were lost or never written. `guts-migration` is required (without it every
 * guts resource of the project would match); `guts-source-vm`, when given, narrows the search to
 * one VM: servers and volumes by metadata, images by their `guts_source_vm` property, ports by
 * their `guts-vm:` tag (ports made before that tag existed are found only without a VM mark).
 * Entries are in the order rollback can delete them: servers, then ports, volumes and images.
 */
export async function findLeftovers(
  client: OpenStackClient,
  marks: Readonly<Record<string, string>>,
  ctx: DriverContext,
): Promise<UndoEntry[]> {
  const mark = marks['guts-migration']
  if (!mark) return []
  const vm = marks['guts-source-vm']
  const { signal } = ctx
  // Other marks are ignored: these two are the only ones the driver puts on what it creates.
  const metadata = markMetadata(mark, vm)
  const tag = markTag(mark)
  const [servers, ports, volumes, images] = await Promise.all([
    client.nova.findByMetadata(metadata, signal),
    client.neutron.findPortsByTag(tag, signal),
    client.cinder.findByMetadata(metadata, signal),
    client.glance.findByTag(tag, signal),
  ])
  const entry = (kind: string, ref: string): UndoEntry => ({ kind, ref, data: { mark } })
  const found = [
    ...servers.map((s) => entry('server', s.name)),
    ...ports.filter((p) => !vm || (p.tags ?? []).includes(sourceTag(vm))).map((p) => entry('port', p.name)),
    ...volumes.map((v) => entry('volume', v.name)),
    ...images.filter((i) => !vm || i.guts_source_vm === vm.slice(0, 255)).map((i) => entry('image', i.name)),
  ]
  // Rollback deletes by name and mark, so one entry per name covers same-named duplicates.
  const unique = [...new Map(found.map((e) => [`${e.kind}\u0000${e.ref}`, e])).values()]
  if (unique.length) ctx.log.info('openstack: found leftovers by their marks', { marks: { ...marks }, count: unique.length })
  return unique
}
