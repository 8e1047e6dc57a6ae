import { GutsError } from '@guts/sdk'

/** What the error is about: anything with the file's name (a RandomAccessFile, a layer's info). */
interface Named {
  readonly name: string
}

/**
 * A virtual disk file guts cannot read as it is: damaged, not of the format it claims, or using a
 * feature this reader does not implement. GUTS_UNSUPPORTED, as the files driver reports disks
 * qemu-img cannot read: retrying does not help, the file (or the chain given) has to change.
 */
export function diskError(file: Named, problem: string, suggestions: readonly string[] = []): GutsError {
  return new GutsError('GUTS_UNSUPPORTED', `${file.name}: ${problem}.`, { ref: file.name, suggestions })
}

/** A caller's mistake (a read outside the disk, an empty chain): a bug in the driver, not in the file. */
export function usageError(message: string): GutsError {
  return new GutsError('GUTS_DRIVER_ERROR', message)
}
