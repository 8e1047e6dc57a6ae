import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  destinationDriverSuite,
  fakeDestinationDriver,
  fakeSourceDriver,
  FAKE_SOURCE_VM,
  pipelineSuite,
  sourceDriverSuite,
  testMapping,
  testVm,
  type TestApi,
} from '@guts/sdk/testing'
import files from '../../src/drivers/files/index.js'
import local from '../../src/drivers/local/index.js'
import { engineTransfer } from '../../src/testing.js'
import { makeSampleOva } from '../fixtures/make-sample-ova.js'
import { tempDir } from '../helpers/cli.js'

// The built-in offline drivers pass the same published suites a third-party driver must pass,
// moving their disks with the engine's transfer (guts/testing), as every driver is certified.
const test: TestApi = { describe, it, beforeAll, afterAll }
const dir = tempDir('guts-contract-')
await makeSampleOva(dir, { name: 'suite-vm', disks: [{ sizeMiB: 4 }, { sizeMiB: 2 }] })
const sourceFactory = () => files.create({ path: join(dir, 'suite-vm.ova') })
const fixture = { vm: { id: 'suite-vm', name: 'suite-vm' } }

await sourceDriverSuite({ test, factory: sourceFactory, fixture })

const out = (name: string) => {
  const path = join(dir, name)
  mkdirSync(path, { recursive: true })
  return path
}
for (const format of ['qcow2', 'raw'] as const) {
  await destinationDriverSuite({
    test,
    factory: () => local.create({ directory: out(`local-${format}`), format }),
    fixture: { vm: testVm(), mapping: testMapping({ name: `suite-${format}` }) },
    transfer: engineTransfer,
  })
}

// files → local: the offline pair end to end (qemu-img route, compare of every disk).
await pipelineSuite({
  test,
  source: { factory: sourceFactory, fixture },
  destination: { factory: () => local.create({ directory: out('pipeline-local') }), mapping: testMapping({ name: 'piped' }) },
  transfer: engineTransfer,
})
// files → a stream destination (the SDK's reference fake): the engine's staging route.
await pipelineSuite({
  test,
  source: { factory: sourceFactory, fixture },
  destination: { factory: () => fakeDestinationDriver(), mapping: testMapping({ name: 'streamed' }) },
  transfer: engineTransfer,
})
// a stream source → local: raw stream into qcow2 files.
await pipelineSuite({
  test,
  source: { factory: () => fakeSourceDriver(), fixture: { vm: FAKE_SOURCE_VM } },
  destination: { factory: () => local.create({ directory: out('from-stream') }), mapping: testMapping({ name: 'from-stream' }) },
  transfer: engineTransfer,
})
