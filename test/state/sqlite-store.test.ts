import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { dataDir } from '../../src/core/state/data-dir.js'
import { openStateStore } from '../../src/core/state/open-store.js'
import { isBun } from '@guts/sdk'
import { openSqliteDatabase } from '../../src/core/state/sqlite-driver.js'
import { SCHEMA_VERSION } from '../../src/core/state/sqlite-schema.js'
import { SqliteStateStore } from '../../src/core/state/sqlite-store.js'
import { stateStoreSuite } from './state-store-suite.js'

const root = mkdtempSync(join(tmpdir(), 'guts-state-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let counter = 0
let lastDir = ''
stateStoreSuite(
  `sqlite file (${isBun() ? 'bun:sqlite' : 'better-sqlite3'})`,
  async () => {
    lastDir = join(root, `db-${++counter}`)
    return openStateStore({ dataDir: lastDir })
  },
  { reopen: () => openStateStore({ dataDir: lastDir }) },
)

stateStoreSuite('sqlite :memory:', () => openStateStore({ url: 'sqlite::memory:' }))

describe('sqlite state store', () => {
  it('creates the data directory private, with guts.db inside', async () => {
    const dir = join(root, 'nested', 'data')
    const store = await openStateStore({ dataDir: dir })
    await store.close()
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'guts.db')).isFile()).toBe(true)
  })

  it('records the schema version and uses WAL on files', async () => {
    const path = join(root, 'version.db')
    const store = await openStateStore({ url: `sqlite:${path}` })
    await store.close()
    const db = await openSqliteDatabase(path)
    try {
      expect(db.prepare('PRAGMA user_version').get<{ user_version: number }>()?.user_version).toBe(SCHEMA_VERSION)
      expect(db.prepare('PRAGMA journal_mode').get<{ journal_mode: string }>()?.journal_mode).toBe('wal')
    } finally {
      db.close()
    }
  })

  it('refuses a database written by a newer guts', async () => {
    const path = join(root, 'future.db')
    const raw = await openSqliteDatabase(path)
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    await expect(openStateStore({ url: `sqlite:${path}` })).rejects.toMatchObject({
      code: 'GUTS_STATE_ERROR',
      message: expect.stringContaining('newer guts'),
    })
    const store = new SqliteStateStore(await openSqliteDatabase(path))
    try {
      await expect(store.init()).rejects.toMatchObject({ code: 'GUTS_STATE_ERROR' })
    } finally {
      await store.close()
    }
  })

  it('rejects unknown URLs and bad PostgreSQL schema names, never echoing the password', async () => {
    const bad: unknown = await openStateStore({ url: 'postgres://u:secret@127.0.0.1:1/guts?schema=Bad-Name' }).catch((e: unknown) => e)
    expect(bad).toMatchObject({ code: 'GUTS_CONFIG_INVALID', message: expect.stringContaining('schema=Bad-Name') })
    expect(String((bad as Error).message)).not.toContain('secret')
    const err: unknown = await openStateStore({ url: 'mysql://u:secret@db/guts' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'GUTS_CONFIG_INVALID' })
    expect(String((err as Error).message)).not.toContain('secret')
  })

  it('dataDir: GUTS_DATA_DIR, then XDG_DATA_HOME, then ~/.local/share', () => {
    expect(dataDir({ GUTS_DATA_DIR: '/x/guts', XDG_DATA_HOME: '/xdg' })).toBe('/x/guts')
    expect(dataDir({ XDG_DATA_HOME: '/xdg' })).toBe('/xdg/guts')
    expect(dataDir({ XDG_DATA_HOME: 'relative' })).toMatch(/\/\.local\/share\/guts$/)
    expect(dataDir({})).toMatch(/\/\.local\/share\/guts$/)
  })
})
