import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StateStore } from '../../src/core/state/store.js'
import { tokenStoreTests } from './token-store-tests.js'

export interface StateStoreSuiteOptions {
  /**
   * Opens a second, independent connection to the database the latest `factory()` call created
   * (initialised). Backends that persist across connections pass it to run the reopen tests.
   */
  reopen?: () => Promise<StateStore>
}

/**
 * The behaviour every StateStore must have. Each backend's test file calls this with a factory
 * that returns a fresh, initialised, empty store. Runner-agnostic: bun maps 'vitest' to bun:test.
 */
export function stateStoreSuite(name: string, factory: () => Promise<StateStore>, options: StateStoreSuiteOptions = {}): void {
  describe(`StateStore: ${name}`, () => {
    let store: StateStore
    beforeEach(async () => {
      store = await factory()
    })
    afterEach(async () => {
      await store.close()
    })

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
    const create = (id: string, extra: { name?: string } = {}) =>
      store.createMigration({ id, name: extra.name ?? id, planText: `name: ${id}\n`, options: { keepOnFailure: true } })

    it('init is idempotent', async () => {
      await create('m1')
      await store.init()
      await store.init()
      expect((await store.getMigration('m1'))?.id).toBe('m1')
    })

    it('creates and reads back a migration', async () => {
      const m = await store.createMigration({ id: 'm1', name: 'wave 1', planPath: '/plans/a.yaml', planText: 'x: 1\n' })
      expect(m).toMatchObject({ id: 'm1', name: 'wave 1', status: 'pending', planPath: '/plans/a.yaml', planText: 'x: 1\n' })
      expect(m.options).toEqual({})
      expect(m.cancelRequested).toBe(false)
      expect(m.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(m.updatedAt).toBe(m.createdAt)
      expect(m.startedAt).toBeUndefined()
      expect(m.error).toBeUndefined()
      expect(await store.getMigration('m1')).toEqual(m)
    })

    it('refuses a duplicate id', async () => {
      await create('m1')
      await expect(create('m1')).rejects.toMatchObject({ code: 'GUTS_CONFLICT' })
    })

    it('lists newest first, filters by status and limits', async () => {
      for (const id of ['a', 'b', 'c', 'd']) await create(id)
      await store.updateMigration('b', { status: 'running' })
      await store.updateMigration('d', { status: 'failed' })
      expect((await store.listMigrations()).map((m) => m.id)).toEqual(['d', 'c', 'b', 'a'])
      expect((await store.listMigrations({ limit: 2 })).map((m) => m.id)).toEqual(['d', 'c'])
      expect((await store.listMigrations({ status: ['running', 'failed'] })).map((m) => m.id)).toEqual(['d', 'b'])
      expect(await store.listMigrations({ status: [] })).toEqual([])
    })

    it('summaries: newest first, each with its VMs (sorted) and lease, filtered and limited like listMigrations', async () => {
      for (const id of ['a', 'b', 'c']) await create(id)
      await store.upsertVm('b', 'web-02', { status: 'failed', stage: 'transfer' })
      await store.upsertVm('b', 'web-01', { status: 'succeeded', stage: 'cleanup' })
      await store.updateMigration('b', { status: 'partial' })
      expect(await store.acquireLease('c', 'host:1', 60_000)).toBe(true)
      const all = await store.listMigrationSummaries()
      expect(all.map((m) => m.id)).toEqual(['c', 'b', 'a'])
      const b = all.find((m) => m.id === 'b')!
      expect(b.vms).toEqual([
        { name: 'web-01', status: 'succeeded', stage: 'cleanup' },
        { name: 'web-02', status: 'failed', stage: 'transfer' },
      ])
      expect(b).not.toHaveProperty('planText')
      expect(b).toMatchObject({ status: 'partial', name: 'b', options: { keepOnFailure: true } })
      expect(all.find((m) => m.id === 'a')!.vms).toEqual([])
      expect(all.find((m) => m.id === 'c')!.lease).toMatchObject({ owner: 'host:1' })
      expect(all.find((m) => m.id === 'a')!.lease).toBeUndefined()
      expect((await store.listMigrationSummaries({ limit: 1 })).map((m) => m.id)).toEqual(['c'])
      expect((await store.listMigrationSummaries({ status: ['partial'] })).map((m) => m.id)).toEqual(['b'])
      expect(await store.listMigrationSummaries({ status: [] })).toEqual([])
    })

    it('updates with a patch and leaves other fields alone', async () => {
      const m = await create('m1')
      await sleep(5)
      const started = new Date().toISOString()
      const u = await store.updateMigration('m1', { status: 'running', startedAt: started, error: { message: 'boom' } })
      expect(u).toMatchObject({ status: 'running', startedAt: started, error: { message: 'boom' }, name: 'm1' })
      expect(u.options).toEqual({ keepOnFailure: true })
      expect(u.updatedAt > m.updatedAt).toBe(true)
      const v = await store.updateMigration('m1', { finishedAt: started })
      expect(v).toMatchObject({ status: 'running', startedAt: started, finishedAt: started, error: { message: 'boom' } })
      const w = await store.updateMigration('m1', { error: null, status: 'succeeded' })
      expect(w.error).toBeUndefined()
      expect(w.status).toBe('succeeded')
    })

    it('records cancelRequested', async () => {
      await create('m1')
      expect((await store.updateMigration('m1', { cancelRequested: true })).cancelRequested).toBe(true)
      expect((await store.getMigration('m1'))?.cancelRequested).toBe(true)
      expect((await store.updateMigration('m1', { status: 'cancelled' })).cancelRequested).toBe(true)
    })

    it('deleting a migration deletes its VMs, undo log, events and lease', async () => {
      await create('m1')
      await create('m2')
      for (const id of ['m1', 'm2']) {
        await store.upsertVm(id, 'vm', { status: 'running' })
        await store.appendUndo(id, 'vm', { kind: 'image', ref: 'i-1' })
        await store.appendEvent(id, { type: 'started' })
        await store.acquireLease(id, 'me', 60_000)
      }
      await store.deleteMigration('m1')
      expect(await store.getMigration('m1')).toBeUndefined()
      expect(await store.listVms('m1')).toEqual([])
      expect(await store.listUndo('m1')).toEqual([])
      expect(await store.readEvents('m1')).toEqual([])
      expect(await store.getLease('m1')).toBeUndefined()
      // A recreated migration with the same id starts from scratch.
      await create('m1')
      expect((await store.appendEvent('m1', { type: 'again' })).seq).toBe(1)
      // The other migration is untouched.
      expect(await store.listVms('m2')).toHaveLength(1)
      expect(await store.listUndo('m2')).toHaveLength(1)
      expect(await store.readEvents('m2')).toHaveLength(1)
      expect(await store.getLease('m2')).toMatchObject({ owner: 'me' })
    })

    it('upsertVm creates, then patches and shallow-merges the checkpoint', async () => {
      await create('m1')
      const v1 = await store.upsertVm('m1', 'web', { checkpoint: { disks: { d0: 'done' }, session: 's1' } })
      expect(v1).toMatchObject({ migrationId: 'm1', vmKey: 'web', status: 'pending', checkpoint: { disks: { d0: 'done' }, session: 's1' } })
      expect(v1.stage).toBeUndefined()
      const v2 = await store.upsertVm('m1', 'web', {
        status: 'running',
        stage: 'export',
        checkpoint: { disks: { d1: 'done' }, image: 'img-1' },
        error: { message: 'x' },
      })
      // Shallow: the `disks` key is replaced, not merged; untouched keys survive.
      expect(v2.checkpoint).toEqual({ disks: { d1: 'done' }, session: 's1', image: 'img-1' })
      expect(v2).toMatchObject({ status: 'running', stage: 'export', error: { message: 'x' } })
      const v3 = await store.upsertVm('m1', 'web', { error: null })
      expect(v3).toMatchObject({ status: 'running', stage: 'export', checkpoint: v2.checkpoint })
      expect(v3.error).toBeUndefined()
      await store.upsertVm('m1', 'db', { status: 'skipped' })
      const vms = await store.listVms('m1')
      expect(vms.map((v) => v.vmKey)).toEqual(['web', 'db'])
      expect(vms[0]).toEqual(v3)
    })

    it('undo log: append order, newest first, per VM, pendingOnly, markUndone', async () => {
      await create('m1')
      const a = await store.appendUndo('m1', 'web', { kind: 'volume', ref: 'v-1', data: { size: 10 } })
      const b = await store.appendUndo('m1', 'db', { kind: 'volume', ref: 'v-2' })
      const c = await store.appendUndo('m1', 'web', { kind: 'server', ref: 's-1' })
      expect(a.seq < b.seq && b.seq < c.seq).toBe(true)
      expect(a).toMatchObject({ migrationId: 'm1', vmKey: 'web', kind: 'volume', ref: 'v-1', data: { size: 10 } })
      expect(a.undoneAt).toBeUndefined()
      expect((await store.listUndo('m1')).map((u) => u.ref)).toEqual(['s-1', 'v-2', 'v-1'])
      expect(await store.listUndo('m1', 'web')).toEqual([c, a])
      await store.markUndone('m1', [c.seq])
      const web = await store.listUndo('m1', 'web')
      expect(web[0]?.undoneAt).toMatch(/Z$/)
      expect((await store.listUndo('m1', 'web', { pendingOnly: true })).map((u) => u.ref)).toEqual(['v-1'])
      expect((await store.listUndo('m1', undefined, { pendingOnly: true })).map((u) => u.ref)).toEqual(['v-2', 'v-1'])
      await store.markUndone('m1', [])
      await store.markUndone('other', [a.seq])
      expect((await store.listUndo('m1', undefined, { pendingOnly: true })).map((u) => u.ref)).toEqual(['v-2', 'v-1'])
    })

    it('events: seq starts at 1 and grows by one per migration; readEvents pages', async () => {
      await create('m1')
      await create('m2')
      const e1 = await store.appendEvent('m1', { type: 'started', data: { vms: 2 } })
      const e2 = await store.appendEvent('m1', { type: 'vm.stage', vmKey: 'web' })
      const f1 = await store.appendEvent('m2', { type: 'started' })
      const e3 = await store.appendEvent('m1', { type: 'finished' })
      expect([e1.seq, e2.seq, e3.seq, f1.seq]).toEqual([1, 2, 3, 1])
      expect(e1).toMatchObject({ migrationId: 'm1', type: 'started', data: { vms: 2 } })
      expect(e1.vmKey).toBeUndefined()
      expect(e2).toMatchObject({ vmKey: 'web', data: {} })
      expect(await store.readEvents('m1')).toEqual([e1, e2, e3])
      expect(await store.readEvents('m1', 1)).toEqual([e2, e3])
      expect(await store.readEvents('m1', 0, 2)).toEqual([e1, e2])
      expect(await store.readEvents('m1', 3)).toEqual([])
    })

    it('concurrent appendEvent calls get distinct, gap-free seqs', async () => {
      await create('m1')
      const events = await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendEvent('m1', { type: 't', data: { i } })))
      expect(events.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      expect(await store.readEvents('m1')).toHaveLength(50)
    })

    it('leases: acquire, renew, refuse, release', async () => {
      await create('m1')
      expect(await store.getLease('m1')).toBeUndefined()
      expect(await store.acquireLease('m1', 'a', 60_000)).toBe(true)
      const first = await store.getLease('m1')
      expect(first?.owner).toBe('a')
      await sleep(5)
      expect(await store.acquireLease('m1', 'a', 60_000)).toBe(true)
      const renewed = await store.getLease('m1')
      expect(Date.parse(renewed?.expiresAt ?? '') > Date.parse(first?.expiresAt ?? '')).toBe(true)
      expect(await store.acquireLease('m1', 'b', 60_000)).toBe(false)
      expect(await store.acquireLease('m1', 'b', 60_000, () => false)).toBe(false)
      expect((await store.getLease('m1'))?.owner).toBe('a')
      await store.releaseLease('m1', 'b') // not the holder: no effect
      expect((await store.getLease('m1'))?.owner).toBe('a')
      await store.releaseLease('m1', 'a')
      expect(await store.getLease('m1')).toBeUndefined()
      expect(await store.acquireLease('m1', 'b', 60_000)).toBe(true)
    })

    it('leases: an expired lease is taken over', async () => {
      await create('m1')
      expect(await store.acquireLease('m1', 'a', 1)).toBe(true)
      await sleep(20)
      expect(await store.acquireLease('m1', 'b', 60_000)).toBe(true)
      expect((await store.getLease('m1'))?.owner).toBe('b')
    })

    it('leases: canSteal sees the lease and may take it over', async () => {
      await create('m1')
      await store.acquireLease('m1', 'pid:1', 60_000)
      const seen: unknown[] = []
      const ok = await store.acquireLease('m1', 'pid:2', 60_000, (lease) => {
        seen.push(lease)
        return lease.owner === 'pid:1'
      })
      expect(ok).toBe(true)
      expect(seen).toEqual([{ owner: 'pid:1', expiresAt: expect.stringMatching(/Z$/) }])
      expect((await store.getLease('m1'))?.owner).toBe('pid:2')
    })

    it('unknown migration ids give empty results or GUTS_NOT_FOUND', async () => {
      expect(await store.getMigration('nope')).toBeUndefined()
      expect(await store.listVms('nope')).toEqual([])
      expect(await store.listUndo('nope')).toEqual([])
      expect(await store.readEvents('nope')).toEqual([])
      expect(await store.getLease('nope')).toBeUndefined()
      await store.deleteMigration('nope')
      await store.releaseLease('nope', 'a')
      await expect(store.updateMigration('nope', { status: 'running' })).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
      await expect(store.upsertVm('nope', 'vm', {})).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
      await expect(store.appendUndo('nope', 'vm', { kind: 'k', ref: 'r' })).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
      await expect(store.appendEvent('nope', { type: 't' })).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
      await expect(store.acquireLease('nope', 'a', 1000)).rejects.toMatchObject({ code: 'GUTS_NOT_FOUND' })
    })

    tokenStoreTests(() => store)

    const { reopen } = options
    if (reopen) {
      it('keeps everything across a reopen', async () => {
        await create('m1')
        await store.updateMigration('m1', { status: 'running', error: { message: 'x' } })
        await store.upsertVm('m1', 'web', { stage: 'export', checkpoint: { a: 1 } })
        const undo = await store.appendUndo('m1', 'web', { kind: 'image', ref: 'i-1' })
        await store.appendEvent('m1', { type: 'started' })
        await store.acquireLease('m1', 'a', 60_000)
        const before = {
          migration: await store.getMigration('m1'),
          vms: await store.listVms('m1'),
          events: await store.readEvents('m1'),
          lease: await store.getLease('m1'),
        }
        await store.close()
        store = await reopen()
        await store.init()
        expect(await store.getMigration('m1')).toEqual(before.migration)
        expect(await store.listVms('m1')).toEqual(before.vms)
        expect(await store.listUndo('m1')).toEqual([undo])
        expect(await store.readEvents('m1')).toEqual(before.events)
        expect(await store.getLease('m1')).toEqual(before.lease)
        expect((await store.appendEvent('m1', { type: 'resumed' })).seq).toBe(2)
      })

      it('keeps API tokens across a reopen', async () => {
        await store.createToken({ id: 't1', name: 'ci', role: 'operator', secretHash: 'ab'.repeat(32), prefix: 'abcdefgh' })
        await store.touchToken('t1', '2030-01-01T00:00:00.000Z')
        const before = await store.listTokens()
        await store.close()
        store = await reopen()
        expect(await store.listTokens()).toEqual(before)
        expect(await store.getTokenByHash('ab'.repeat(32))).toEqual(before[0])
      })

      it('two connections share seqs and leases', async () => {
        await create('m1')
        const other = await reopen()
        try {
          const seqs: number[] = []
          for (let i = 0; i < 10; i++) {
            seqs.push((await store.appendEvent('m1', { type: 'a' })).seq, (await other.appendEvent('m1', { type: 'b' })).seq)
          }
          expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
          expect(await store.acquireLease('m1', 'a', 60_000)).toBe(true)
          expect(await other.acquireLease('m1', 'b', 60_000)).toBe(false)
        } finally {
          await other.close()
        }
      })
    }
  })
}
