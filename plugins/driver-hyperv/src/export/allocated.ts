import type { Extent } from '@guts/sdk'
import { SftpFile } from '../transport/sftp-file.js'
import type { SshConnection } from '../transport/ssh-connection.js'
import { openDisk } from '../vhd/index.js'
import type { SessionDisk } from './session.js'

/**
 * What a session's disk may hold: the blocks its files allocate (read from their block tables and
 * sector bitmaps over SFTP, no data), the answer to "changed since the beginning" (`*`).
 */
export async function allocatedExtents(
  disk: SessionDisk,
  d: { ssh: SshConnection; host: string; signal?: AbortSignal },
): Promise<Extent[]> {
  const sftp = await d.ssh.sftp(d.signal)
  const files: SftpFile[] = []
  try {
    for (const path of disk.chain) files.push(await SftpFile.open(sftp, path, d.host))
    return (await openDisk(files, d.signal)).allocatedExtents()
  } finally {
    await Promise.all(files.map((f) => f.close().catch(() => undefined)))
  }
}
