import { GutsError, throwIfAborted, type DiskTarget, type DriverContext, type TransferResult } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import type { Image } from './client/glance.js'
import { gibCeil } from './image-properties.js'
import { markMetadata, markTag, type OpenStackSessionData, type SessionDisk } from './session.js'

const MINUTE = 60_000

/** Cinder writes the whole volume from the image: allow 10 min plus 2 min per GiB. */
export function volumeTimeoutMs(virtualSize: number): number {
  return 10 * MINUTE + 2 * MINUTE * gibCeil(virtualSize)
}

/**
 * Creates the Glance image for one disk (after recording it) and returns a stream target that
 * uploads into it. An image of the same name and mark left by an earlier attempt is deleted first:
 * its upload may have been cut off, and Glance accepts data only once per image.
 */
export async function openImageTarget(
  client: OpenStackClient,
  data: OpenStackSessionData,
  disk: SessionDisk,
  ctx: DriverContext,
): Promise<DiskTarget> {
  throwIfAborted(ctx.signal)
  const tag = markTag(data.mark)
  await ctx.recordUndo({ kind: 'image', ref: disk.imageName, data: { mark: data.mark } })
  for (const old of await client.glance.findByName(disk.imageName, [tag], ctx.signal)) {
    ctx.log.info('openstack: deleting an image left by an earlier attempt', { image: old.id })
    await client.glance.delete(old.id, ctx.signal)
  }
  const boot = disk === data.disks[0]
  const image = await client.glance.create(
    {
      name: disk.imageName,
      diskFormat: data.format,
      tags: ['guts', tag],
      minDisk: gibCeil(disk.virtualSize),
      ...(boot ? { minRam: data.memoryMiB } : {}),
      properties: { ...data.properties, guts_migration: data.mark, guts_source_vm: data.sourceVmId.slice(0, 255), guts_disk: disk.id },
    },
    ctx.signal,
  )
  ctx.log.info('openstack: image created', { image: image.id, name: image.name })
  return { kind: 'stream', format: data.format, open: (signal) => client.glance.uploadSink(image.id, signal) }
}

/** The one image of this disk, active. */
export async function activeImage(
  client: OpenStackClient,
  data: OpenStackSessionData,
  disk: SessionDisk,
  signal: AbortSignal,
): Promise<Image> {
  const found = await client.glance.findByName(disk.imageName, [markTag(data.mark)], signal)
  const image = found[0]
  if (!image) {
    throw new GutsError('GUTS_STATE_ERROR', `Disk ${disk.id} was committed, but its Glance image ${disk.imageName} does not exist.`, {
      suggestions: ['Resume the migration so the disk is uploaded again.'],
    })
  }
  if (found.length > 1)
    throw new GutsError(
      'GUTS_CONFLICT',
      `${found.length} Glance images are named ${disk.imageName} with this migration's mark; delete the extra ones.`,
    )
  return image.status === 'active' ? image : client.glance.waitActive(image.id, 10 * MINUTE, signal)
}

/**
 * After the upload: checks the image, and for disks that become volumes creates the Cinder
 * volume from it (recorded first) and waits until it is available. Re-running reuses a volume
 * that already exists and is healthy.
 */
export async function commitImageDisk(
  client: OpenStackClient,
  data: OpenStackSessionData,
  disk: SessionDisk,
  result: TransferResult,
  ctx: DriverContext,
): Promise<void> {
  if (result.format !== data.format) {
    throw new GutsError('GUTS_STATE_ERROR', `Disk ${disk.id} was written as ${result.format}, but its Glance image expects ${data.format}.`)
  }
  const image = await activeImage(client, data, disk, ctx.signal)
  if (!disk.volumeName) return
  const marks: Record<string, string> = { ...markMetadata(data.mark, data.sourceVmId), 'guts-disk': disk.id }
  await ctx.recordUndo({ kind: 'volume', ref: disk.volumeName, data: { mark: data.mark } })
  let volume = (await client.cinder.findByName(disk.volumeName, { 'guts-migration': data.mark.slice(0, 255) }, ctx.signal))[0]
  if (volume?.status.startsWith('error')) {
    ctx.log.warn('openstack: replacing a volume that failed in an earlier attempt', { volume: volume.id })
    await client.cinder.deleteAndWait(volume.id, 10 * MINUTE, ctx.signal)
    volume = undefined
  }
  volume ??= await client.cinder.createFromImage(
    {
      name: disk.volumeName,
      sizeGiB: gibCeil(disk.virtualSize),
      imageId: image.id,
      metadata: marks,
      description: `guts: disk ${disk.id} of ${data.serverName}`,
      ...(data.volumeType ? { volumeType: data.volumeType } : {}),
      ...(data.availabilityZone ? { availabilityZone: data.availabilityZone } : {}),
    },
    ctx.signal,
  )
  await client.cinder.waitAvailable(volume.id, volumeTimeoutMs(disk.virtualSize), ctx.signal)
  ctx.log.info('openstack: volume ready', { volume: volume.id, name: disk.volumeName })
}
