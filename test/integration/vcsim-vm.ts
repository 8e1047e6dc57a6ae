import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:https'
import { retrieve, runTask, type VimSession } from '@guts/driver-vmware/testing'
import type { VcsimLab } from './vmware-lab.js'

/**
 * A VM of its own for a test that changes one (powers it off, writes to its disk), so it never
 * disturbs the lab's model VMs other test files read. Made with CreateVM_Task next to DC0_H0_VM0:
 * one pvscsi disk of `sizeMiB`, filled by `guestWrite`. (CloneVM_Task is no use: vcsim 0.24 points
 * the original's disk at the clone's file.)
 */
export async function createLabVm(
  session: VimSession,
  name: string,
  sizeMiB: number,
  o: { nic?: string } = {},
): Promise<{ id: string; ref: { type: string; value: string } }> {
  const [model] = await retrieve(session, [{ type: 'VirtualMachine', value: 'vm-57' }], 'VirtualMachine', [
    'parent',
    'resourcePool',
    'runtime.host',
  ])
  const p = model!.props as Record<string, { type: string; value: string }>
  const ref = (await runTask(session, 'CreateVM_Task', {
    _this: p.parent,
    config: {
      name,
      guestId: 'otherLinux64Guest',
      numCPUs: 1,
      memoryMB: 64,
      files: { vmPathName: '[LocalDS_0]' },
      deviceChange: [
        { operation: 'add', device: { '@type': 'ParaVirtualSCSIController', key: -100, busNumber: 0, sharedBus: 'noSharing' } },
        {
          operation: 'add',
          fileOperation: 'create',
          device: {
            '@type': 'VirtualDisk',
            key: -101,
            controllerKey: -100,
            unitNumber: 0,
            capacityInKB: sizeMiB * 1024,
            backing: { '@type': 'VirtualDiskFlatVer2BackingInfo', fileName: '', diskMode: 'persistent', thinProvisioned: true },
          },
        },
        ...(o.nic
          ? [
              {
                operation: 'add',
                device: {
                  '@type': 'VirtualVmxnet3',
                  key: -102,
                  addressType: 'generated',
                  backing: { '@type': 'VirtualEthernetCardNetworkBackingInfo', deviceName: o.nic },
                },
              },
            ]
          : []),
      ],
    },
    pool: p.resourcePool,
    host: p['runtime.host'],
  })) as { type: string; value: string }
  return { id: ref.value, ref }
}

/** POST /vcsimx/write: what the guest writes to its disk while it runs (vcsimx checks no session). */
export function guestWrite(lab: VcsimLab, vm: string, offset: number, data: Buffer, disk = 0): Promise<void> {
  const path = `/vcsimx/write?vm=${encodeURIComponent(vm)}&disk=${disk}&offset=${offset}`
  return new Promise((resolve, reject) => {
    // node:https (not undici) so that it runs the same under bun; the lab's certificate is its own.
    const req = request(
      { host: lab.host, port: lab.port, path, method: 'POST', rejectUnauthorized: false, headers: { 'content-length': data.length } },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c: string) => (text += c))
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`guest write failed: HTTP ${res.statusCode} ${text}`))))
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}

/** The flat file holding the VM's first disk on the simulator's datastore (stable once the VM is off). */
export async function flatFileOf(
  session: VimSession,
  lab: VcsimLab & { datastoreDir?: string },
  ref: { type: string; value: string },
): Promise<string> {
  const [o] = await retrieve(session, [ref], 'VirtualMachine', ['config.hardware.device'])
  const devices = (o!.props['config.hardware.device'] as { VirtualDevice: { '@_xsi:type'?: string; backing?: { fileName?: string } }[] })
    .VirtualDevice
  const fileName = devices.find((d) => d['@_xsi:type'] === 'VirtualDisk')?.backing?.fileName ?? ''
  const m = /^\[([^\]]+)\] (.+)\.vmdk$/.exec(fileName)
  if (!m) throw new Error(`unexpected disk backing ${fileName}`)
  const root = lab.datastoreDir ?? '/var/tmp/guts-lab/vcsim/run/ds'
  const ds = readdirSync(root).find((d) => d.endsWith(`-${m[1]}`) || d.includes(`-${m[1]}-`))
  const path = join(root, ds ?? m[1]!, `${m[2]}-flat.vmdk`)
  if (!existsSync(path)) throw new Error(`no flat file ${path} for ${fileName}`)
  return path
}

export async function power(session: VimSession, ref: { type: string; value: string }, on: boolean): Promise<void> {
  await runTask(session, on ? 'PowerOnVM_Task' : 'PowerOffVM_Task', { _this: ref }).catch((e: { code?: string }) => {
    if (e.code !== 'GUTS_CONFLICT') throw e
  })
}

export async function destroyLabVm(session: VimSession, ref: { type: string; value: string }): Promise<void> {
  await power(session, ref, false).catch(() => undefined)
  await runTask(session, 'Destroy_Task', { _this: ref }).catch(() => undefined)
}
