import type { Finding, JsonObject } from '@guts/sdk'

/** The stages of one VM, in order (stages/index.ts runs them). Each is idempotent and checkpointed. */
export const STAGES = ['discover', 'preflight', 'export', 'transfer', 'boot', 'verify', 'cleanup'] as const
export type Stage = (typeof STAGES)[number]

/**
 * Everything a migration reports while it runs: rendered by listr2 on a TTY, as plain lines in CI,
 * as NDJSON with `--json`, over SSE by `guts serve`. Progress events are not persisted; the rest are.
 */
export type MigrationEvent =
  | { type: 'migration.started'; migrationId: string; name: string; resumed: boolean }
  | { type: 'migration.vms'; vms: { key: string; disks: { id: string; virtualSize: number }[] }[] }
  | { type: 'vm.stage'; vm: string; stage: Stage; state: 'started' | 'done' | 'skipped' }
  | { type: 'vm.finding'; vm: string; finding: Finding }
  | { type: 'disk.progress'; vm: string; disk: string; bytes: number; total: number }
  | {
      type: 'disk.done'
      vm: string
      disk: string
      route: string
      virtualSize: number
      bytesWritten: number
      seconds: number
      sha256?: string
    }
  | {
      type: 'vm.sync'
      vm: string
      sync: number
      kind: 'full' | 'delta' | 'final'
      bytesChanged: number
      bytesMoved: number
      seconds: number
    }
  | { type: 'vm.warm'; vm: string; state: 'waiting' | 'cutover'; nextSyncAt?: string; cutoverAt?: string }
  | { type: 'vm.poweroff'; vm: string; state: 'started' | 'done'; method: 'shutdown' | 'force' }
  | { type: 'vm.poweron'; vm: string }
  | { type: 'vm.downtime'; vm: string; seconds: number; poweredOffAt: string; runningAt: string }
  | { type: 'vm.succeeded'; vm: string; instance: { id: string; data: JsonObject }; seconds: number }
  | { type: 'vm.failed'; vm: string; error: JsonObject; rolledBack: boolean; stage?: string }
  | { type: 'vm.rollback'; vm: string; state: 'started' | 'done' | 'failed'; message?: string }
  | { type: 'migration.finished'; migrationId: string; status: string; seconds: number; succeeded: number; failed: number }
  | { type: 'log'; level: 'info' | 'warn'; message: string; vm?: string }

export type EventListener = (event: MigrationEvent) => void

/** Stored event a `guts migration cutover` request is recorded as (`data.vms`: VM keys, empty for all). */
export const CUTOVER_EVENT = 'cutover.requested'
