import { diskError } from './disk-error.js'
import type { DiskLayer } from './layer.js'
import { readStructure, type RandomAccessFile } from './random-access.js'
import { openVhdLayer } from './vhd.js'
import { openVhdxLayer } from './vhdx.js'
import { isVhdxSignature } from './vhdx-header.js'

/** VHDX files start with "vhdxfile"; anything else is taken for a VHD, which says so if it is not one. */
export async function isVhdxFile(file: RandomAccessFile, signal?: AbortSignal): Promise<boolean> {
  if (file.size < 8) throw diskError(file, `the file has ${file.size} bytes: it is neither a VHDX nor a VHD`)
  return isVhdxSignature(await readStructure(file, 0, 8, 'file signature', signal))
}

/** Opens one file of a chain, VHDX or VHD by its content (not its name: .avhdx and .avhd are the same formats). */
export async function openLayer(file: RandomAccessFile, signal?: AbortSignal): Promise<DiskLayer> {
  return (await isVhdxFile(file, signal)) ? openVhdxLayer(file, signal) : openVhdLayer(file, signal)
}
