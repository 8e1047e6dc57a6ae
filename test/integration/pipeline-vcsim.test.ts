import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { NetworkMapping } from '@guts/sdk'
import { pipelineSuite, testMapping, type TestApi } from '@guts/sdk/testing'
import vmware from '@guts/driver-vmware'
import { resolveConfig, VimSession } from '@guts/driver-vmware/testing'
import openstack from '@guts/driver-openstack'
import local from '../../src/drivers/local/index.js'
import { engineTransfer } from '../../src/testing.js'
import { tempDir } from '../helpers/cli.js'
import * as os from './openstack-lab.js'
import { createLabVm, destroyLabVm, guestWrite, power } from './vcsim-vm.js'
import { labAvailable, readLab } from './vmware-lab.js'

/**
 * The SDK's pipelineSuite with the vmware source (vcsimx) on a running VM of this file's own
 * (the suite exports it through a snapshot), into `local` and, with the OpenStack lab, into OpenStack.
 */
const test: TestApi = { describe, it, beforeAll, afterAll }
if (labAvailable()) {
  const lab = readLab()
  const options = { url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }
  const session = new VimSession(resolveConfig(options, {}))
  await session.connect()
  const name = `guts-pipe-${process.pid}`
  const vm = await createLabVm(session, name, 8, { nic: 'VM Network' })
  await guestWrite(lab, name, 1024 * 1024, randomBytes(3 * 1024 * 1024))
  await power(session, vm.ref, true)
  afterAll(async () => {
    await destroyLabVm(session, vm.ref)
    await session.close()
  })
  const source = { factory: () => vmware.create(options), fixture: { vm: { id: vm.id, name } } }
  const dir = tempDir('guts-pipe-vcsim-')

  await pipelineSuite({
    test,
    source,
    destination: { factory: () => local.create({ directory: join(dir, 'local') }), mapping: testMapping({ name: `${name}-local` }) },
    transfer: engineTransfer,
  })

  if (os.labAvailable()) {
    const client = os.labClient()
    const networks: NetworkMapping[] = [{ from: 'VM Network', to: 'lab-net', keepMac: false }]
    const readBack = os.glanceReadBack(client, dir)
    await pipelineSuite({
      test,
      source,
      destination: {
        factory: () => openstack.create({ cloud: os.cloud, bootFrom: 'image' }),
        mapping: testMapping({ name: `${name}-os`, flavor: 'auto', networks }),
        readBack,
      },
      transfer: engineTransfer,
    })
    afterAll(() => client.close())
  }
}
