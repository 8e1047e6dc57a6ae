import { GutsError, type VmRef } from '@guts/sdk'

/**
 * VirtDisk's statuses that mean "the changes since this id are unknown": the only safe answer is a
 * whole copy of the disk (`details.changeTrackingReset`), never a failed VM. Values from winerror.h.
 */
const RESET_STATUSES: Readonly<Record<number, string>> = {
  0xc03a0020: 'ERROR_CTLOG_TRACKING_NOT_INITIALIZED',
  0xc03a0022: 'ERROR_CTLOG_VHD_CHANGED_OFFLINE',
  0xc03a0023: 'ERROR_CTLOG_INVALID_TRACKING_STATE',
  0xc03a0024: 'ERROR_CTLOG_INCONSISTENT_TRACKING_FILE',
  0xc03a0029: 'ERROR_VHD_INVALID_CHANGE_TRACKING_ID',
  0xc03a002a: 'ERROR_VHD_CHANGE_TRACKING_DISABLED',
  0xc03a0030: 'ERROR_VHD_MISSING_CHANGE_TRACKING_INFORMATION',
}

const OTHER_STATUSES: Readonly<Record<number, string>> = {
  2: 'ERROR_FILE_NOT_FOUND',
  3: 'ERROR_PATH_NOT_FOUND',
  5: 'ERROR_ACCESS_DENIED',
  32: 'ERROR_SHARING_VIOLATION',
  87: 'ERROR_INVALID_PARAMETER',
  0xc03a0015: 'ERROR_VIRTDISK_NOT_VIRTUAL_DISK',
}

export interface RctQuery {
  vm: VmRef
  file: string
  since: string
  what: string
  host: string
}

/** Hex as winerror.h writes it: 0xC03A0029. */
export function win32Hex(status: number): string {
  return `0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')}`
}

/** A failed OpenVirtualDisk / QueryChangesVirtualDisk as a GutsError; reset statuses are marked so. */
export function rctFailure(status: number, call: string, message: string, q: RctQuery): GutsError {
  const code = status >>> 0
  const name = RESET_STATUSES[code] ?? OTHER_STATUSES[code] ?? 'a Win32 error'
  const said = `${call} said ${name} (${win32Hex(code)})${message ? `: ${message}` : ''}`
  const details = { hyperv: { call, status: code, statusName: name, file: q.file } }
  if (RESET_STATUSES[code]) {
    return new GutsError(
      'GUTS_CONFLICT',
      `Hyper-V no longer knows the changes of ${q.what} since RCT id ${q.since} (${said}): change tracking was reset, the disk resized, or its history dropped; a new full sync of this disk is needed.`,
      { details: { ...details, changeTrackingReset: true } },
    )
  }
  if (code === 5) {
    return new GutsError(
      'GUTS_AUTH_FAILED',
      `${q.host} refused ${call} on ${q.file} (${said}): the account needs Hyper-V Administrators rights.`,
      {
        details,
      },
    )
  }
  if (code === 2 || code === 3) {
    return new GutsError('GUTS_NOT_FOUND', `${q.file} of ${q.what} is gone on ${q.host} (${said}).`, { details })
  }
  return new GutsError('GUTS_DRIVER_ERROR', `${q.host} could not list the changes of ${q.what} (${said}).`, { details })
}
