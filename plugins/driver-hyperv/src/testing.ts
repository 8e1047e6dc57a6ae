/**
 * The driver's insides for guts' own integration tests and benchmarks (`@guts/driver-hyperv/testing`):
 * the SSH/PowerShell transport, the disk reader and the driver class. Not a stable API; plans and
 * the core use only the package's default export (the driver factory).
 */
export { HypervSource, HYPERV_CAPABILITIES } from './driver.js'
export { SshConnection, type SshSettings } from './transport/ssh-connection.js'
export { PowerShellRunner, scriptText, encodedCommand, MAX_COMMAND_LINE, type HostScript } from './transport/powershell.js'
export { parseClixml } from './transport/clixml.js'
export { SftpFile } from './transport/sftp-file.js'
export { diskSource } from './export/disk.js'
export { checkHostKey, fingerprint } from './transport/host-key.js'
export { sftpPath, windowsPath } from './transport/paths.js'
export { toDescriptor, powerState, diskId } from './describe.js'
export { DescribeSchema, ListSchema } from './host-model.js'
export { guestOs } from './os.js'
export { preflightFindings } from './preflight.js'
export { resolveConfig } from './config.js'
export * from './vhd/index.js'
export { mergeRanges } from './export/warm.js'
export { rctFailure, win32Hex } from './export/rct-status.js'
export { RCT_CHANGES, RCT_RELEASE, RCT_SYNC_BEGIN, RCT_SYNC_END } from './scripts/rct.js'
