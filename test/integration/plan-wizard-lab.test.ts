import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveConfig, VimSession } from '@guts/driver-vmware/testing'
import { planWizard } from '../../src/cli/plan-wizard.js'
import { createMigrationService } from '../../src/core/service.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { registryWith } from '../helpers/lab-registry.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { scriptedAsker } from '../helpers/scripted-asker.js'
import * as os from './openstack-lab.js'
import { createLabVm, destroyLabVm } from './vcsim-vm.js'
import { labAvailable, readLab } from './vmware-lab.js'

/**
 * `guts plan init` as a new user meets it, against the labs: vCenter → OpenStack. A failed login
 * asks again instead of ending the wizard; the clouds.yaml entries are offered and a chosen cloud
 * covers the credentials; only what was answered is written, and the plan runs as written.
 */
const TIMEOUT = 300_000
const GOVC_UNSET = {
  GOVC_URL: '',
  GOVC_USERNAME: '',
  GOVC_PASSWORD: '',
  GOVC_INSECURE: '',
  GOVC_THUMBPRINT: '',
  GOVC_TLS_CA_CERTS: '',
  GOVC_DATACENTER: '',
}

if (labAvailable() && os.labAvailable()) {
  const lab = readLab()
  const name = `guts-wiz-${process.pid}`
  const session = new VimSession(
    resolveConfig({ url: lab.url, username: lab.username, password: lab.password, thumbprint: lab.thumbprint }, {}),
  )
  await session.connect()
  const vm = await createLabVm(session, name, 2, { nic: 'VM Network' })
  const client = os.labClient()
  const dir = tempDir('guts-wizard-lab-')
  let migrationId: string | undefined
  afterAll(async () => {
    if (migrationId) {
      const marks = { 'guts-migration': migrationId }
      for (const s of await client.nova.findByMetadata(marks)) await client.nova.deleteAndWait(s.id, 120_000).catch(() => undefined)
      for (const p of await client.neutron.findPortsByTag(`guts:${migrationId}`.slice(0, 60)))
        await client.neutron.deletePort(p.id).catch(() => undefined)
      for (const i of await client.glance.findByTag(`guts:${migrationId}`.slice(0, 60)))
        await client.glance.delete(i.id).catch(() => undefined)
    }
    await destroyLabVm(session, vm.ref)
    await session.close()
    await client.close()
  })

  describe('plan wizard against the labs (vmware → openstack)', () => {
    it(
      'asks again after a failed connection, offers the clouds, writes only what was given, and the plan migrates',
      { timeout: TIMEOUT },
      async () => {
        const env = { ...process.env, ...GOVC_UNSET }
        const service = createMigrationService({
          registry: registryWith('vmware', 'openstack'),
          store: () => openStateStore({ dataDir: dir }),
          workRoot: join(dir, 'work'),
          env,
        })
        const secretVar = `GUTS_TEST_WIZARD_PW_${process.pid}`
        const ask = scriptedAsker([
          [/^Plan name/, 'wizard-lab'],
          [/^Source/, 'vmware'],
          [/^vmware url/, lab.url],
          [/^vmware username/, lab.username],
          [/^Environment variable that will hold vmware password/, secretVar],
          [/^password \(used now/, 'not-the-password'],
          [/^Set advanced options \(thumbprint, caCert, insecure, datacenter, quiesce\)/, false],
          [/^Change the settings and try again/, true],
          [/^vmware url/, undefined],
          [/^vmware username/, undefined],
          [/^Environment variable that will hold vmware password/, undefined],
          [/^password \(used now/, lab.password],
          [/^Set advanced options/, true],
          [/^vmware thumbprint/, lab.thumbprint],
          [/^vmware caCert/, ''],
          [/^vmware insecure/, false],
          [/^vmware datacenter/, ''],
          [/^vmware quiesce/, false],
          [/^VMs to migrate/, [name]],
          [/^How should the VMs leave the source/, 'cold'],
          [/^Destination$/, 'openstack'],
          [/^openstack cloud/, os.cloud],
          [/^openstack bootFrom/, '(leave out)'],
          [/^Set advanced options \(diskFormat\)/, false],
          [/^Destination network for source network "VM Network"/, 'lab-net'],
        ])
        const draft = await planWizard(service, ask, {})
        expect(ask.remaining()).toBe(0)
        expect(ask.said.join('\n')).toMatch(/Could not list the VMs of vmware/)
        const text = await service.draftPlan(draft, join(dir, 'plan.yaml'))
        expect(text).toContain(`cloud: ${os.cloud}`)
        expect(text).toContain(`password: \${env:${secretVar}}`)
        expect(text).toContain(`thumbprint: ${lab.thumbprint}`)
        // Nothing the chosen cloud already says, nothing left at its default, nothing not answered.
        expect(text).not.toMatch(/GUTS_OPENSTACK|applicationCredential|authUrl|caCert|insecure|quiesce|datacenter|bootFrom/)
        const file = join(dir, 'plan.yaml')
        writeFileSync(file, text)
        const run = await runCli(['migrate', file, '--json'], {
          dataDir: join(dir, 'state'),
          env: { ...GOVC_UNSET, [secretVar]: lab.password },
        })
        const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!).report
        migrationId = report.id
        expect({ code: run.code, status: report.status, vm: report.vms[0].status }).toEqual({
          code: 0,
          status: 'succeeded',
          vm: 'succeeded',
        })
        expect(readFileSync(file, 'utf8')).toBe(text)
      },
    )
  })
}
