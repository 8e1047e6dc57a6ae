import { afterAll, beforeAll } from 'vitest'
import { openLocalFile, type LocalFile } from './vhd-local-file.js'
import { tempDir, type TempDir } from './vhd-qemu.js'

/**
 * What every disk-format test file needs: a temporary directory for the files it makes, and local
 * files opened under the Windows name a host would report (`<windowsDir>\<file>`), all closed and
 * removed after the file's tests. Call it once at the top level of a test file.
 */
export function diskFixture(windowsDir: string): { tmp: () => TempDir; local: (path: string) => Promise<LocalFile> } {
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
  }
}
