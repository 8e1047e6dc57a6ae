import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger, type DriverContext, type UndoEntry } from '../context.js'

/** A DriverContext for tests, with handles on what the core would otherwise own. */
export interface TestContext extends DriverContext {
  /** Every entry passed to `recordUndo`, oldest first (rollback wants them newest first). */
  readonly undo: UndoEntry[]
  /** Aborts `signal`. */
  readonly controller: AbortController
  /** The entries newest first, the order the core hands to `rollback`. */
  undoNewestFirst(): UndoEntry[]
  /** Removes `workDir` (the core does this at cleanup). Idempotent. */
  cleanup(): Promise<void>
}

/**
 * Builds a DriverContext like the core's: a fresh AbortController, a silent logger, a new
 * temporary `workDir`, and a `recordUndo` that keeps every entry in `undo`.
 *
 * `overrides` replace `log`, `workDir` or `signal` (a given signal replaces the controller's;
 * `controller.abort()` then has no effect on it). A given `recordUndo` is called *after* the
 * entry was collected, so the suites can still see every entry.
 */
export function createTestContext(overrides: Partial<DriverContext> = {}): TestContext {
  const controller = new AbortController()
  const undo: UndoEntry[] = []
  const ownWorkDir = overrides.workDir === undefined ? mkdtempSync(join(tmpdir(), 'guts-sdk-test-')) : undefined
  const chained = overrides.recordUndo
  return {
    signal: overrides.signal ?? controller.signal,
    log: overrides.log ?? silentLogger,
    workDir: overrides.workDir ?? (ownWorkDir as string),
    undo,
    controller,
    async recordUndo(entry: UndoEntry): Promise<void> {
      // A copy: the core persists entries, so later mutation by the driver must not leak in.
      undo.push(structuredClone(entry))
      if (chained) await chained(entry)
    },
    undoNewestFirst: () => [...undo].reverse(),
    async cleanup(): Promise<void> {
      // Only remove a directory we created; a workDir passed in belongs to the caller.
      if (ownWorkDir) await rm(ownWorkDir, { recursive: true, force: true })
    },
  }
}

/** A copy of `base` whose signal has already fired, sharing its workDir and undo log. */
export function abortedContext(base: DriverContext): DriverContext {
  const controller = new AbortController()
  controller.abort(new Error('aborted by the conformance suite'))
  return { ...base, signal: controller.signal, recordUndo: (entry) => base.recordUndo(entry) }
}
