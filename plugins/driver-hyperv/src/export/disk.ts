import { Readable } from 'node:stream'
import { GutsError, type DiskSource, type Logger } from '@guts/sdk'
import type { SshConnection } from '../transport/ssh-connection.js'
import { SftpFile } from '../transport/sftp-file.js'
import { openDisk as openVirtualDisk, rawStream, type VirtualDisk } from '../vhd/index.js'
import type { SessionDisk } from './session.js'

export interface DiskDeps {
  ssh: SshConnection
  host: string
  log: Logger
  readConcurrency: number
  signal?: AbortSignal
}

/**
 * One disk of an export as a raw stream, decoded here from the VHDX/VHD files over SFTP: no copy
 * is staged on the host or here, only allocated blocks cross the wire, and a differencing chain is
 * read through (each block from the newest file that holds it). Random access (`readRange`) goes
 * through the same chain, for delta syncs.
 */
export async function diskSource(disk: SessionDisk, what: string, d: DiskDeps): Promise<DiskSource> {
  const sftp = await d.ssh.sftp(d.signal)
  const files: SftpFile[] = []
  try {
    for (const path of disk.chain) files.push(await SftpFile.open(sftp, path, d.host))
    const vd = await openVirtualDisk(files, d.signal)
    if (vd.virtualSize !== disk.virtualSize) {
      throw new GutsError(
        'GUTS_CONFLICT',
        `${what}: the disk file now says ${vd.virtualSize} bytes, the host said ${disk.virtualSize} at export time (was it resized?). Start the export again.`,
      )
    }
    let closed = false
    return {
      kind: 'stream',
      format: 'raw',
      virtualSize: vd.virtualSize,
      // Chunks of the server's largest read, so that none is split into a full request and a tiny one.
      open: async (signal) => rawStream(vd, { signal, concurrency: d.readConcurrency, chunkSize: chunkSize(files) }),
      readRange: async (offset, length, signal) => Readable.from(ranged(vd, offset, length, signal)),
      close: async () => {
        if (closed) return
        closed = true
        await Promise.all(files.map((f) => f.close()))
      },
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close().catch(() => undefined)))
    throw e
  }
}

const RANGE_PIECE = 4 * 1024 * 1024

/** 256 KiB, or less when the server answers less per read (kept a multiple of 4 KiB sectors). */
function chunkSize(files: SftpFile[]): number {
  const server = Math.min(...files.map((f) => f.readSize))
  return Math.max(4096, Math.min(256 * 1024, server - (server % 4096)))
}

/** A range of the raw disk in pieces, so that a long extent is never one buffer. */
async function* ranged(vd: VirtualDisk, offset: number, length: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  const end = offset + length
  for (let at = offset; at < end; at += RANGE_PIECE) yield await vd.read(at, Math.min(RANGE_PIECE, end - at), signal)
}
