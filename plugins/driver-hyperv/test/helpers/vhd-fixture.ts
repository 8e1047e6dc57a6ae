import { afterAll, beforeAll } from 'vitest'
import { openLocalFile, type LocalFile } from './vhd-local-file.js'
import { convertToRaw, createDisk, tempDir, writePatterns, type QemuFormat, type TempDir } from './vhd-qemu.js'

/**
 * What every disk-format test file needs: a temporary directory for the files it makes, and local
 * files opened under the Windows name a host would report (`<windowsDir>\<file>`), all closed and
 * removed after the file's tests. Call it once at the top level of a test file.
 */
export interface DiskFixture {
  tmp: () => TempDir
  local: (path: string) => Promise<LocalFile>
  /** A disk made by qemu-img (writes by qemu-io: pattern, offset, length) and qemu-img's raw conversion of it. */
  qemuDisk: (
    format: QemuFormat,
    name: string,
    size: number,
    options: Record<string, string>,
    writes: [number, number, number][],
  ) => { path: string; raw: string }
}

export function diskFixture(windowsDir: string): DiskFixture {
  let dir: TempDir | undefined
  const opened: LocalFile[] = []
  beforeAll(() => {
    dir = tempDir()
  })
  afterAll(async () => {
    await Promise.all(opened.map((f) => f.close()))
    dir?.cleanup()
  })
  return {
    tmp: () => dir!,
    local: async (path) => {
      const file = await openLocalFile(path, `${windowsDir}\\${path.split('/').pop()}`)
      opened.push(file)
      return file
    },
    qemuDisk: (format, name, size, options, writes) => {
      const path = dir!.path(`${name}.${format === 'vpc' ? 'vhd' : 'vhdx'}`)
      const raw = dir!.path(`${name}.raw`)
      createDisk(format, path, size, options)
      if (writes.length) writePatterns(format, path, writes)
      convertToRaw(format, path, raw)
      return { path, raw }
    },
  }
}
