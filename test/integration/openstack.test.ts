import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { silentLogger, type DiskDescriptor, type InstanceRef, type NetworkMapping, type TargetMapping } from '@guts/sdk'
import { destinationDriverSuite, pipelineSuite, testMapping, testVm, type TestApi } from '@guts/sdk/testing'
import openstack, { OpenStackClient, loadCloudConfig, type OpenStackOptions } from '@guts/driver-openstack'
import files from '../../src/drivers/files/index.js'

/**
 * Against the real OpenStack lab (test/lab/openstack). Runs only when GUTS_LAB_OPENSTACK names
 * the lab's clouds.yaml; in CI (CI set) a missing lab is a failure, not a silent skip.
 * GUTS_LAB_OPENSTACK_CLOUD picks the cloud (default lab-admin: keeping a MAC on the shared
 * lab-net needs the network owner or admin).
 */
const lab = process.env.GUTS_LAB_OPENSTACK
const test: TestApi = { describe, it, beforeAll, afterAll }

if (!lab) {
  describe('openstack lab', () => {
    if (process.env.CI) {
      it('GUTS_LAB_OPENSTACK names the lab clouds.yaml', () => {
        throw new Error('CI is set but GUTS_LAB_OPENSTACK is not: start the lab (test/lab/openstack/up.sh) and export GUTS_LAB_OPENSTACK=<state dir>/clouds.yaml.')
      })
    } else {
      it.skip('needs GUTS_LAB_OPENSTACK=<path to the lab clouds.yaml>', () => {})
    }
  })
} else {
  // How users point the CLI at a clouds.yaml; the driver reads it like openstacksdk does.
  process.env.OS_CLIENT_CONFIG_FILE = lab
  const cloud = process.env.GUTS_LAB_OPENSTACK_CLOUD ?? 'lab-admin'
  const run = randomBytes(3).toString('hex')
  const mac = (): string => `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`
  const networks = (...from: string[]): NetworkMapping[] => from.map((f) => ({ from: f, to: 'lab-net', keepMac: true }))
  const dir = mkdtempSync(join(tmpdir(), 'guts-openstack-it-'))
  const client = new OpenStackClient(loadCloudConfig({ cloud }), silentLogger)

  /** Reads a landed disk back from Glance, for the pipeline suite's content comparison. */
  const readBack = async (instance: InstanceRef, disk: DiskDescriptor) => {
    const images = instance.data.images as Record<string, string>
    const id = images[disk.id]
    if (!id) throw new Error(`the InstanceRef names no image for ${disk.id}`)
    const image = await client.glance.get(id)
    const path = join(dir, `readback-${id}`)
    await client.glance.download(id, path)
    return { path, format: (image?.disk_format ?? 'raw') as 'raw' | 'qcow2' }
  }

  for (const bootFrom of ['image', 'volume'] as const) {
    const options: OpenStackOptions = { cloud, bootFrom }
    const name = `guts-it-${run}-${bootFrom}`
    const mapping: TargetMapping = testMapping({ name, flavor: 'auto', networks: networks('VM Network') })
    await destinationDriverSuite({
      test,
      factory: () => openstack.create(options),
      fixture: {
        vm: testVm({ nics: [{ id: 'nic-0', mac: mac(), network: 'VM Network' }] }),
        mapping,
        unknownFlavorMapping: { ...mapping, name: `${name}-badflavor`, flavor: 'guts-no-such-flavor' },
      },
    })

    // files → openstack: a 2-disk, 2-NIC UEFI VM, content read back from Glance.
    const disks = [0, 1].map((i) => {
      const path = join(dir, `${bootFrom}-disk${i}.raw`)
      const data = Buffer.alloc(1024 * 1024)
      data.write(`guts ${bootFrom} disk ${i} ${run}`, 0)
      data.write('tail', data.length - 8)
      writeFileSync(path, data)
      return { path, format: 'raw' as const }
    })
    const vmName = `pipe-${bootFrom}`
    await pipelineSuite({
      test,
      source: {
        factory: () => files.create({ vms: [{ name: vmName, disks, cpus: 1, memoryMiB: 512, firmware: 'uefi', os: 'linux', nics: [{ mac: mac(), network: 'VM Network' }, { mac: mac(), network: 'Backend' }] }] }),
        fixture: { vm: { id: vmName, name: vmName } },
      },
      destination: {
        factory: () => openstack.create(options),
        mapping: testMapping({ name: `guts-it-${run}-pipe-${bootFrom}`, flavor: 'auto', networks: networks('VM Network', 'Backend') }),
        readBack,
      },
    })
  }

  afterAll(async () => {
    await client.close()
  })
}
