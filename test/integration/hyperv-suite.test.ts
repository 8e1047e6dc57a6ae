import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { NetworkMapping, VmRef } from '@guts/sdk'
import { pipelineSuite, sourceDriverSuite, testMapping, type TestApi } from '@guts/sdk/testing'
import hyperv from '@guts/driver-hyperv'
import openstack from '@guts/driver-openstack'
import local from '../../src/drivers/local/index.js'
import { engineTransfer } from '../../src/testing.js'
import { tempDir } from '../helpers/cli.js'
import * as os from './openstack-lab.js'
import { ctx, labAvailable, labOptions, readLab } from './hyperv-lab.js'

/**
 * The SDK's conformance suites with the hyperv source against the lab host, on suite01 (a VM no
 * other test file touches): sourceDriverSuite (live export through a checkpoint, since the driver
 * can), and pipelineSuite into `local` and, with the OpenStack lab, into OpenStack (volume boot).
 */
const test: TestApi = { describe, it, beforeAll, afterAll }
if (labAvailable()) {
  const lab = readLab()
  const options = labOptions(lab)
  const probe = hyperv.create(options)
  let vm: VmRef | undefined
  for await (const v of probe.listVms({ name: 'suite01' }, ctx())) vm = v
  await probe.dispose()
  if (!vm) throw new Error('the Hyper-V lab has no VM suite01: run test/lab/hyperv-lab.sh up')

  await sourceDriverSuite({
    test,
    factory: () => hyperv.create(options),
    fixture: { vm, badCredentials: () => hyperv.create({ ...options, privateKey: undefined, password: 'wrong' }) },
  })

  const source = { factory: () => hyperv.create(options), fixture: { vm } }
  const dir = tempDir('guts-pipe-hyperv-')
  await pipelineSuite({
    test,
    source,
    destination: { factory: () => local.create({ directory: join(dir, 'local') }), mapping: testMapping({ name: 'suite01-local' }) },
    transfer: engineTransfer,
  })

  if (os.labAvailable()) {
    const client = os.labClient()
    const networks: NetworkMapping[] = [{ from: 'vSwitch-Prod', to: 'lab-net', keepMac: false }]
    const readBack = os.glanceReadBack(client, dir)
    await pipelineSuite({
      test,
      source,
      destination: {
        factory: () => openstack.create({ cloud: os.cloud, bootFrom: 'volume' }),
        mapping: testMapping({ name: 'suite01-os', flavor: 'auto', networks }),
        readBack,
      },
      transfer: engineTransfer,
    })
    afterAll(() => client.close())
  }
}
