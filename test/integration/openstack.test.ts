import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { tempDir } from '../helpers/cli.js'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type NetworkMapping, type TargetMapping } from '@guts/sdk'
import { destinationDriverSuite, pipelineSuite, testMapping, testVm, type TestApi } from '@guts/sdk/testing'
import openstack, { type OpenStackOptions } from '@guts/driver-openstack'
import files from '../../src/drivers/files/index.js'
import { engineTransfer } from '../../src/testing.js'
import { cloud, glanceReadBack, labAvailable, labClient, randomMac, writeRawDisk } from './openstack-lab.js'

// The SDK's conformance suites against the real OpenStack lab (see openstack-lab.ts for the gating).
const test: TestApi = { describe, it, beforeAll, afterAll }

if (labAvailable()) {
  const run = randomBytes(3).toString('hex')
  const networks = (...from: string[]): NetworkMapping[] => from.map((f) => ({ from: f, to: 'lab-net', keepMac: true }))
  const dir = tempDir('guts-openstack-it-')
  const client = labClient()

  const readBack = glanceReadBack(client, dir)

  for (const bootFrom of ['image', 'volume'] as const) {
    const options: OpenStackOptions = { cloud, bootFrom }
    const name = `guts-it-${run}-${bootFrom}`
    const mapping: TargetMapping = testMapping({ name, flavor: 'auto', networks: networks('VM Network') })
    await destinationDriverSuite({
      test,
      factory: () => openstack.create(options),
      fixture: {
        vm: testVm({ nics: [{ id: 'nic-0', mac: randomMac(), network: 'VM Network' }] }),
        mapping,
        unknownFlavorMapping: { ...mapping, name: `${name}-badflavor`, flavor: 'guts-no-such-flavor' },
      },
      transfer: engineTransfer,
    })

    // files → openstack: a 2-disk, 2-NIC UEFI VM, content read back from Glance.
    const disks = [0, 1].map((i) => writeRawDisk(join(dir, `${bootFrom}-disk${i}.raw`), `${bootFrom} disk ${i} ${run}`))
    const vmName = `pipe-${bootFrom}`
    await pipelineSuite({
      test,
      source: {
        factory: () =>
          files.create({
            vms: [
              {
                name: vmName,
                disks,
                cpus: 1,
                memoryMiB: 512,
                firmware: 'uefi',
                os: 'linux',
                nics: [
                  { mac: randomMac(), network: 'VM Network' },
                  { mac: randomMac(), network: 'Backend' },
                ],
              },
            ],
          }),
        fixture: { vm: { id: vmName, name: vmName } },
      },
      destination: {
        factory: () => openstack.create(options),
        mapping: testMapping({ name: `guts-it-${run}-pipe-${bootFrom}`, flavor: 'auto', networks: networks('VM Network', 'Backend') }),
        readBack,
      },
      transfer: engineTransfer,
    })
  }

  afterAll(async () => {
    await client.close()
  })
}
