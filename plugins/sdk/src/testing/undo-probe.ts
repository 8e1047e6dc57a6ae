import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { isAbsolute, sep } from 'node:path'
import type { DriverContext, UndoEntry } from '../context.js'
import type { DiskTarget } from '../destination.js'
import { jsonRoundTrip } from './checks.js'
import { createTestContext, type TestContext } from './context.js'

/**
 * A test context that also notes, at the moment each undo entry is recorded, whether the
 * paths it names existed. That is the only way to check from outside that a destination
 * records *before* it creates: after the call, the file exists either way.
 */

interface Recorded {
  entry: UndoEntry
  /** Absolute paths named by the entry (ref and string values of data), and whether each existed. */
  existed: Map<string, boolean>
}

export interface UndoProbe {
  ctx: TestContext
  records: Recorded[]
}

function namedPaths(entry: UndoEntry): string[] {
  const values = [entry.ref, ...Object.values(entry.data ?? {})]
  return values.filter((v): v is string => typeof v === 'string' && isAbsolute(v))
}

export function createUndoProbe(overrides: Partial<DriverContext> = {}): UndoProbe {
  const records: Recorded[] = []
  const chained = overrides.recordUndo
  const ctx = createTestContext({
    ...overrides,
    async recordUndo(entry: UndoEntry): Promise<void> {
      // Synchronously, before yielding: this is the state of the disk at record time.
      records.push({ entry, existed: new Map(namedPaths(entry).map((p) => [p, existsSync(p)])) })
      jsonRoundTrip(entry, 'an undo entry')
      if (chained) await chained(entry)
    },
  })
  return { ctx, records }
}

/**
 * Checks the entries recorded while `openDiskTarget` ran (`since` = records before the call):
 * at least one; and for a file target, every entry naming the path (or a directory holding it)
 * was recorded while that path did not exist. When no entry names it, the file must not exist
 * yet when the call returns, or nothing proves the entry came first.
 */
export function checkRecordedBeforeCreate(probe: UndoProbe, since: number, target: DiskTarget): void {
  const recorded = probe.records.slice(since)
  assert.ok(recorded.length > 0, 'openDiskTarget must call ctx.recordUndo before it creates anything')
  if (target.kind !== 'file') return
  const covers = (p: string): boolean => target.path === p || target.path.startsWith(p.endsWith(sep) ? p : p + sep)
  const naming = recorded.flatMap((r) => [...r.existed].filter(([p]) => covers(p)))
  if (naming.length === 0) {
    assert.ok(
      !existsSync(target.path),
      `openDiskTarget created ${target.path} but no undo entry it recorded names that path (or its directory) in ref or data`,
    )
    return
  }
  for (const [path, existed] of naming) {
    assert.ok(!existed, `${path} already existed when its undo entry was recorded: record first, then create`)
  }
}
