import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isGutsError, type JsonObject, type SourceDriver } from '@guts/sdk'
import { FAKE_SOURCE_VM, fakeDestinationDriver, fakeSourceDriver, testVm } from '@guts/sdk/testing'
import { parseCheckpoint } from '../../src/core/pipeline/checkpoint-schema.js'
import type { MigrationEvent } from '../../src/core/pipeline/events.js'
import { runVm } from '../../src/core/pipeline/run-vm.js'
import type { VmJob } from '../../src/core/pipeline/vm-job.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { tempDir } from '../helpers/cli.js'

const job: VmJob = {
  key: 'web-01',
  ref: { id: 'vm-1', name: 'web-01' },
  planIndex: 0,
  targetName: 'web-01',
  settings: { mode: 'cold', powerOff: 'shutdown' },
}
const descriptor = testVm({ id: 'vm-1', name: 'web-01' })
const disk = descriptor.disks[0]!
const committed = {
  diskId: disk.id,
  route: 'qemu-img:file->file',
  virtualSize: disk.virtualSize,
  bytesWritten: 4096,
  format: 'qcow2',
  committed: true,
}

function stateError(fn: () => unknown): { message: string; ref?: string; details?: Record<string, unknown> } {
  try {
    fn()
  } catch (error) {
    if (isGutsError(error) && error.code === 'GUTS_STATE_ERROR') return error
    throw error
  }
  throw new Error('expected GUTS_STATE_ERROR')
}

describe('stored checkpoints', () => {
  it('reads back what the pipeline writes, cleared (null) keys as absent', () => {
    const stored = {
      job,
      descriptor,
      exportSession: { vm: job.ref, mode: 'cold', data: { dir: '/x' } },
      importSession: { vm: job.ref, data: {} },
      disks: { [disk.id]: committed },
      instance: null,
      verify: null,
    } as unknown as JsonObject
    const cp = parseCheckpoint(stored, 'web-01')
    expect(cp.disks?.[disk.id]).toMatchObject({ committed: true, format: 'qcow2' })
    expect(cp.job?.settings).toMatchObject({ mode: 'cold', powerOff: 'shutdown' })
    expect('instance' in cp).toBe(false)
  })

  it('rejects a corrupted disk record, naming the VM and the path', () => {
    const stored = { job, descriptor, disks: { [disk.id]: { ...committed, format: 'floppy' } } } as unknown as JsonObject
    const e = stateError(() => parseCheckpoint(stored, 'web-01'))
    expect(e.message).toContain('VM "web-01"')
    expect(e.message).toContain(`disks.${disk.id}.format`)
    expect(e.details).toMatchObject({ vm: 'web-01', path: `disks.${disk.id}.format` })
  })

  it('rejects a foreign record (keys guts never writes) and a session that is not JSON-shaped', () => {
    expect(stateError(() => parseCheckpoint({ job, vmState: 'poweredOn' } as unknown as JsonObject)).message).toMatch(
      /VM "web-01".*top level|VM "web-01".*vmState/,
    )
    const badSession = stateError(() =>
      parseCheckpoint({ job, exportSession: { vm: job.ref, mode: 'cold' } } as unknown as JsonObject, 'web-01'),
    )
    expect(badSession.message).toContain('exportSession.data')
    const badWarm = stateError(() =>
      parseCheckpoint({ job, warm: { replicas: {}, changeIds: {}, syncs: 0, lastSyncAt: 'yesterday' } } as unknown as JsonObject, 'web-01'),
    )
    expect(badWarm.message).toContain('warm.syncs')
  })

  it('a resumed VM with a corrupted checkpoint fails with GUTS_STATE_ERROR before any driver call', async () => {
    const dir = tempDir('guts-checkpoint-')
    const store = await openStateStore({ url: 'sqlite::memory:' })
    try {
      const m = await store.createMigration({ id: 'm-bad', name: 'bad', planText: 'x: 1\n' })
      await store.upsertVm(m.id, job.key, {
        status: 'failed',
        checkpoint: { job, descriptor, importSession: { vm: job.ref, data: 'not an object' } } as unknown as JsonObject,
      })
      const calls: string[] = []
      const source = fakeSourceDriver()
      const watched: SourceDriver = { ...source, describeVm: async (vm, ctx) => (calls.push('describeVm'), source.describeVm(vm, ctx)) }
      const events: MigrationEvent[] = []
      const status = await runVm({
        store,
        migrationId: m.id,
        job: { ...job, ref: FAKE_SOURCE_VM },
        drivers: { source: watched, destination: fakeDestinationDriver() },
        signal: new AbortController().signal,
        emit: (e) => events.push(e),
        workRoot: join(dir, 'work'),
        diskConcurrency: 1,
        verify: false,
        keepOnFailure: false,
        destinationOptions: {},
        warm: { syncInterval: '1h', maxSyncFailures: 3, shutdownTimeout: '5m' },
      })
      expect(status).toBe('failed')
      expect(calls).toEqual([])
      const record = (await store.listVms(m.id)).find((v) => v.vmKey === job.key)!
      expect(record.error).toMatchObject({ code: 'GUTS_STATE_ERROR' })
      expect(String(record.error!.message)).toContain('VM "web-01" is not valid at importSession.data')
      expect(events).toContainEqual(expect.objectContaining({ type: 'vm.failed', vm: 'web-01', rolledBack: false }))
      // The record is left as it was, for someone to look at: nothing was reset or rolled back.
      expect(record.checkpoint.importSession).toEqual({ vm: job.ref, data: 'not an object' })
    } finally {
      await store.close()
    }
  })
})
