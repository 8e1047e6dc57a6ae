import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DestinationDriver, SourceDriver } from '@guts/sdk'
import { fakeDestinationDriver, fakeSourceDriver } from '@guts/sdk/testing'

/** Fakes with one deliberate contract violation each: the suites must catch them. */

/** Reports MACs in upper case. */
export function upperCaseMacSource(): SourceDriver {
  const driver = fakeSourceDriver()
  const describeVm = driver.describeVm.bind(driver)
  return Object.assign(driver, {
    describeVm: async (...args: Parameters<SourceDriver['describeVm']>) => {
      const vm = await describeVm(...args)
      return { ...vm, nics: vm.nics.map((n) => ({ ...n, mac: n.mac.toUpperCase() })) }
    },
  })
}

/** Creates the target file first and records its undo entry afterwards. */
export function createsBeforeRecordingDestination(): DestinationDriver {
  const driver = fakeDestinationDriver({ targetKind: 'file' })
  const openDiskTarget = driver.openDiskTarget.bind(driver)
  return Object.assign(driver, {
    openDiskTarget: async (...args: Parameters<DestinationDriver['openDiskTarget']>) => {
      const [session, disk] = args
      const { dir, name, format } = session.data as { dir: string; name: string; format: string }
      writeFileSync(join(dir, `${name}-${disk.id}.${format}`), '')
      return openDiskTarget(...args)
    },
  })
}
