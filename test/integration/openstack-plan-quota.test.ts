import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { tempDir } from '../helpers/cli.js'
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@guts/sdk'
import { createTestContext, testMapping, testVm } from '@guts/sdk/testing'
import { loadCloudConfig, OpenStackClient, OpenStackDestination } from '@guts/driver-openstack/testing'
import { createMigrationService } from '../../src/core/service.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { registryWith } from '../helpers/lab-registry.js'
import { labAvailable, labClient, leftovers, writeRawDisk } from './openstack-lab.js'

/**
 * Quotas for the whole plan, against the lab: the demo project's volume gigabytes quota is set
 * (with lab-admin) to leave 1 GiB; two VMs booting from a 1 GiB volume each pass their own
 * preflight, but the migration of both fails before anything is created, naming both VMs.
 * The quota is restored afterwards.
 */
const TIMEOUT = 300_000

if (labAvailable()) {
  const run = randomBytes(3).toString('hex')
  const dir = tempDir('guts-openstack-planquota-')
  const admin = labClient()
  const demo = new OpenStackClient(loadCloudConfig({ cloud: 'lab-demo' }), silentLogger)
  const registry = registryWith('openstack')
  let restore: (() => Promise<unknown>) | undefined
  afterAll(async () => {
    await restore?.()
    await Promise.all([admin.close(), demo.close()])
  })

  /** Sets the demo project's Cinder gigabytes quota (admin only); returns how to put it back. */
  async function setGigabytes(gigabytes: number): Promise<() => Promise<unknown>> {
    const project = await demo.http.projectId()
    const before = (await demo.cinder.limits()).maxTotalVolumeGigabytes
    const put = (value: number) =>
      admin.http.request('volume', 'PUT', `/os-quota-sets/${project}`, { body: { quota_set: { gigabytes: value } } })
    await put(gigabytes)
    return () => put(before)
  }

  describe('openstack lab: quotas are checked for the whole plan', () => {
    it(
      'two VMs that each fit but not together: the migration fails before anything is created',
      async () => {
        const names = [`pq-a-${run}`, `pq-b-${run}`]
        const used = (await demo.cinder.limits()).totalGigabytesUsed
        restore = await setGigabytes(used + 1)

        // Each VM alone fits (1 GiB boot volume each).
        const alone = new OpenStackDestination({ cloud: 'lab-demo', bootFrom: 'volume' })
        const ctx = createTestContext()
        try {
          for (const name of names) {
            const findings = await alone.preflight(
              testVm({ id: name, name, nics: [] }),
              testMapping({ name, flavor: 'auto', networks: [] }),
              ctx,
            )
            expect(findings.filter((f) => f.severity === 'error')).toEqual([])
          }
        } finally {
          await alone.dispose()
          await ctx.cleanup()
        }

        const vms = names.map(
          (name) =>
            `{ name: ${name}, disks: [{ path: ${writeRawDisk(join(dir, `${name}.raw`), name).path}, format: raw }], cpus: 1, memoryMiB: 512 }`,
        )
        const planText = `version: 1
name: plan-quota-${run}
source:
  driver: files
  vms: [${vms.join(', ')}]
destination: { driver: openstack, cloud: lab-demo, bootFrom: volume }
vms:
${names.map((n) => `  - name: ${n}`).join('\n')}
`
        const store = await openStateStore({ url: 'sqlite::memory:' })
        const service = createMigrationService({ registry, store, workRoot: join(dir, 'work') })
        const m = await service.createMigration(planText, join(dir, 'plan.yaml'))
        const report = await service.runMigration(m.id)
        expect(report.status).toBe('failed')
        for (const vm of report.vms) {
          expect(vm).toMatchObject({ status: 'failed', error: { code: 'GUTS_PREFLIGHT_FAILED' } })
          const message = (vm.error as { message: string }).message
          expect(message).toMatch(
            /gigabytes quota is too small for the plan: pq-a-\w+ needs 1 GiB, pq-b-\w+ needs 1 GiB \(2 GiB together\), but only 1 GiB/,
          )
        }
        for (const name of names) {
          expect(await leftovers(demo, m.id, name)).toEqual([])
          expect(await store.listUndo(m.id, name)).toEqual([])
        }
      },
      TIMEOUT,
    )
  })
}
