import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { labGate } from '../helpers/lab-gate.js'
import type { DriverContext } from '@guts/sdk'
import { createTestContext } from '@guts/sdk/testing'
import { retrieve, retrieveAll, runTask, snapshotNodes, type Moref, type VimSession, type XmlValue } from '@guts/driver-vmware/testing'

/**
 * Shared by the vSphere lab tests. They run only when GUTS_LAB_VCSIM names the simulator's
 * settings file (`eval "$(test/lab/vcsim-lab.sh env)"`); in CI (CI set) a missing lab registers a
 * failing test instead of a silent skip.
 */
export interface VcsimLab {
  url: string
  host: string
  port: number
  username: string
  password: string
  thumbprint: string
  caFile: string
}

export const labFile = process.env.GUTS_LAB_VCSIM

/** Registers the "no lab" outcome; returns true when the real tests should be registered. */
export function labAvailable(): boolean {
  return labGate({
    lab: 'vcsim lab',
    variable: 'GUTS_LAB_VCSIM',
    value: labFile,
    start: 'start the lab (test/lab/vcsim-lab.sh up) and eval "$(test/lab/vcsim-lab.sh env)"',
  })
}

export function readLab(): VcsimLab {
  return JSON.parse(readFileSync(labFile!, 'utf8')) as VcsimLab
}

/** The SDK's test context; the vmware driver keeps nothing in its work dir, so the system temp dir serves. */
export function ctx(signal: AbortSignal = new AbortController().signal): DriverContext {
  return createTestContext({ signal, workDir: tmpdir() })
}

/**
 * A VM of the test's own (CreateVM_Task next to DC0_H0_VM0: same folder, pool and host), so that
 * a test file that changes a VM (power, CBT, guest writes) shares it with no other file running in
 * parallel. One pvscsi controller and one thin disk of `diskMiB`; its files start empty (vcsimx
 * reads missing bytes as zeros). Powered off; remove it with destroyVm.
 */
export async function createVm(session: VimSession, name: string, diskMiB: number): Promise<Moref> {
  const [model] = await retrieve(session, [await vmByName(session, 'DC0_H0_VM0')], 'VirtualMachine', [
    'parent',
    'resourcePool',
    'runtime.host',
  ])
  const p = model!.props
  const created = await runTask(session, 'CreateVM_Task', {
    _this: p.parent as Moref,
    config: {
      name,
      guestId: 'otherGuest',
      files: { vmPathName: '[LocalDS_0]' },
      numCPUs: 1,
      memoryMB: 32,
      deviceChange: [
        { operation: 'add', device: { '@type': 'ParaVirtualSCSIController', key: -100, busNumber: 0, sharedBus: 'noSharing' } },
        {
          operation: 'add',
          fileOperation: 'create',
          device: {
            '@type': 'VirtualDisk',
            key: -101,
            backing: { '@type': 'VirtualDiskFlatVer2BackingInfo', fileName: '[LocalDS_0]', diskMode: 'persistent', thinProvisioned: true },
            controllerKey: -100,
            unitNumber: 0,
            capacityInKB: diskMiB * 1024,
          },
        },
      ],
    },
    pool: p.resourcePool as Moref,
    host: p['runtime.host'] as Moref,
  })
  return created as Moref
}

/** Powers a VM off (if on) and destroys it with its files; a VM already gone is fine. */
export async function destroyVm(session: VimSession, vm: Moref): Promise<void> {
  await setPower(session, vm, false).catch(() => undefined)
  await runTask(session, 'Destroy_Task', { _this: vm }).catch((e: { code?: string }) => {
    if (e.code !== 'GUTS_NOT_FOUND') throw e
  })
}

/** PowerOnVM_Task / PowerOffVM_Task; already in that state is fine. */
export async function setPower(session: VimSession, vm: Moref, on: boolean): Promise<void> {
  await runTask(session, on ? 'PowerOnVM_Task' : 'PowerOffVM_Task', { _this: vm }).catch((e: { code?: string }) => {
    if (e.code !== 'GUTS_CONFLICT') throw e
  })
}

export async function vmByName(session: VimSession, name: string): Promise<Moref> {
  await session.connect()
  for await (const o of retrieveAll(session, 'VirtualMachine', ['name'])) if (o.props.name === name) return o.obj
  throw new Error(`no VM named ${name} in the lab`)
}

export async function powerState(session: VimSession, vm: Moref): Promise<string> {
  const [o] = await retrieve(session, [vm], 'VirtualMachine', ['runtime.powerState'])
  return String(o?.props['runtime.powerState'])
}

/** The VM's snapshots as [moref value, name, description]. */
export async function snapshotsOf(session: VimSession, vm: Moref): Promise<{ id: string; name: string; description?: string }[]> {
  const [o] = await retrieve(session, [vm], 'VirtualMachine', ['snapshot'])
  return snapshotNodes(o?.props.snapshot as XmlValue | undefined).map((n) => ({
    id: n.snapshot.value,
    name: n.name,
    ...(n.description ? { description: n.description } : {}),
  }))
}

/** A guest write into the VM's running disk (vcsimx `POST /vcsimx/write`, no login needed). */
export async function guestWrite(lab: VcsimLab, vmName: string, offset: number, data: Buffer): Promise<void> {
  const url = new URL(`/vcsimx/write?vm=${encodeURIComponent(vmName)}&disk=0&offset=${offset}`, lab.url)
  await new Promise<void>((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca: readFileSync(lab.caFile), headers: { 'content-length': data.length } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`guest write: HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** A datastore file (`[ds] dir/file`) as the lab serves it through /folder: the raw truth. */
export async function datastoreFile(session: VimSession, lab: VcsimLab, dsPath: string): Promise<Buffer> {
  const m = /^\[(.+?)\] (.+)$/.exec(dsPath)!
  const res = await session.transport.get(
    `${lab.url.replace(/\/sdk$/, '')}/folder/${m[2]}?dcPath=DC0&dsName=${encodeURIComponent(m[1]!)}`,
    new AbortController().signal,
  )
  if (res.status !== 200) throw new Error(`GET ${dsPath}: HTTP ${res.status}`)
  return Buffer.from(await res.arrayBuffer())
}

/** Reads a stream to the end. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
