import { throwIfAborted } from '@guts/sdk'
import { diskError, usageError } from './disk-error.js'
import { ChainDisk, type VirtualDisk } from './disk.js'
import type { DiskLayer } from './layer.js'
import { openLayer } from './open-layer.js'
import type { RandomAccessFile } from './random-access.js'

/**
 * Opens a virtual disk from its chain of files, leaf first and the base disk last (one file for a
 * disk without checkpoints). The chain is what the host reported; this checks that every
 * differencing file's parent is the next file, by identity rather than by path: VHDX
 * `parent_linkage`/`parent_linkage2` against the parent's current DataWriteGuid (MS-VHDX
 * 2.6.2.6.3), VHD Parent Unique ID against the parent footer's Unique Id.
 */
export async function openDisk(chain: readonly RandomAccessFile[], signal?: AbortSignal): Promise<VirtualDisk> {
  if (chain.length === 0) throw usageError('openDisk needs the files of the disk, leaf first; it was given none.')
  throwIfAborted(signal)
  const layers = await Promise.all(chain.map((file) => openLayer(file, signal)))
  checkChain(layers)
  return new ChainDisk(layers)
}

function checkChain(layers: readonly DiskLayer[]): void {
  for (let i = 0; i < layers.length; i++) {
    const child = layers[i]!.info
    const parent = layers[i + 1]?.info
    if (child.type !== 'differencing') {
      if (parent)
        throw diskError(child, `it is a ${child.type} disk, which has no parent, but the chain given continues with ${parent.name}`)
      return
    }
    const locator = child.parentLocator!
    if (!parent) {
      const named = locator.paths.map((p) => p.path)
      throw diskError(
        child,
        `it is a differencing disk, but the chain given ends with it: its parent${named.length ? ` (${named.join(', ')})` : ''} is missing`,
        ["Pass every file of the chain, leaf first, down to the base disk (follow Get-VHD's ParentPath)."],
      )
    }
    if (parent.format !== child.format) {
      throw diskError(
        child,
        `it is a ${formatName(child.format)} differencing disk, but the next file of the chain, ${parent.name}, is a ${formatName(parent.format)}`,
      )
    }
    if (!locator.linkage.includes(parent.identity)) {
      const field = child.format === 'vhdx' ? 'DataWriteGuid' : 'Unique Id'
      throw diskError(
        child,
        `its parent must be the disk whose ${field} is ${locator.linkage.join(' or ')}, but ${parent.name} has ${parent.identity}: ` +
          'that file is not its parent, or the parent was modified after the child was created',
        ['Check the chain with Get-VHD on the host (ParentPath of each file); a parent written to after a checkpoint breaks the chain.'],
      )
    }
  }
}

function formatName(format: 'vhdx' | 'vpc'): string {
  return format === 'vhdx' ? 'VHDX' : 'VHD'
}
