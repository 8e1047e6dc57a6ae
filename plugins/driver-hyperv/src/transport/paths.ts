/**
 * Windows OpenSSH's SFTP server shows drive paths as `/C:/dir/file`; PowerShell and Hyper-V use
 * `C:\dir\file`. These convert between the two. UNC paths (`\\server\share\…`) cannot be reached
 * over SFTP: they belong to SMB shares and cluster storage seen from the host.
 */
export function sftpPath(windowsPath: string): string {
  const m = /^([A-Za-z]):[\\/](.*)$/.exec(windowsPath)
  if (!m) throw new Error(`not a drive path: ${windowsPath}`)
  return `/${m[1]!.toUpperCase()}:/${m[2]!.replace(/\\/g, '/')}`
}

export function windowsPath(sftp: string): string {
  const m = /^\/?([A-Za-z]):\/?(.*)$/.exec(sftp)
  if (!m) throw new Error(`not a Windows drive path: ${sftp}`)
  return `${m[1]!.toUpperCase()}:\\${m[2]!.replace(/\//g, '\\')}`
}

export function isDrivePath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p)
}

/** The file name of a Windows path (either separator). */
export function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p
}
