import { Listr, type ListrTaskWrapper } from 'listr2'
import type { MigrationEvent } from '../../core/pipeline/events.js'
import type { MigrationReport } from '../../core/report.js'
import { bytes, duration, progressBar, RateMeter } from './format.js'
import type { Renderer } from './renderer.js'
import { warmLine } from './warm-lines.js'

type Task = ListrTaskWrapper<unknown, any, any>

interface VmView {
  stage: string
  disks: Map<string, { line: string; meter: RateMeter }>
  task?: Task
  settle?: { ok: boolean; message: string }
  resolve?: () => void
  reject?: (e: Error) => void
}

/**
 * The TTY view: one listr2 task per VM (run concurrently, as the VMs are), titled with its current
 * stage, with a progress bar per disk (bytes, rate, ETA) underneath.
 */
export function listrRenderer(write: (line: string) => void): Renderer {
  const views = new Map<string, VmView>()
  let announce!: (vms: string[]) => void
  const vmList = new Promise<string[]>((resolve) => (announce = resolve))
  let title = 'Migration'

  const root = new Listr(
    [
      {
        title,
        task: async (_ctx, task) => {
          const vms = await vmList
          task.title = title
          return task.newListr(
            vms.map((key) => ({
              title: key,
              // Keep each disk's final line (route, size, time) under its VM once it is done.
              rendererOptions: { persistentOutput: true },
              task: (_c: unknown, t: Task) =>
                new Promise<void>((resolve, reject) => {
                  const v = view(key)
                  Object.assign(v, { task: t, resolve, reject })
                  refresh(key)
                }),
            })),
            { concurrent: true, exitOnError: false },
          )
        },
      },
    ],
    { exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false } },
  )
  const running = root.run().catch(() => undefined)

  function view(key: string): VmView {
    let v = views.get(key)
    if (!v) views.set(key, (v = { stage: 'waiting', disks: new Map() }))
    return v
  }
  function refresh(key: string) {
    const v = view(key)
    if (!v.task) return
    v.task.title = `${key}: ${v.stage}`
    v.task.output = [...v.disks.entries()].map(([id, d]) => `${id} ${d.line}`).join('\n')
    if (v.settle?.ok) v.resolve?.()
    else if (v.settle) v.reject?.(new Error(v.settle.message))
  }

  return {
    onEvent(e: MigrationEvent) {
      switch (e.type) {
        case 'migration.started':
          title = `${e.resumed ? 'Resuming' : 'Migrating'} ${e.name} (${e.migrationId.slice(0, 8)})`
          return
        case 'migration.vms':
          return announce(e.vms.map((v) => v.key))
        case 'vm.stage':
          if (e.state === 'started') {
            view(e.vm).stage = e.stage
            refresh(e.vm)
          }
          return
        case 'disk.progress': {
          const d = view(e.vm).disks.get(e.disk) ?? { line: '', meter: new RateMeter() }
          d.line = progressBar(e.bytes, e.total, d.meter.add(e.bytes))
          view(e.vm).disks.set(e.disk, d)
          return refresh(e.vm)
        }
        case 'disk.done': {
          view(e.vm).disks.set(e.disk, {
            line: `done ${bytes(e.virtualSize)} via ${e.route} in ${duration(e.seconds)}`,
            meter: new RateMeter(),
          })
          return refresh(e.vm)
        }
        case 'vm.succeeded': {
          const v = view(e.vm)
          v.stage = `done in ${duration(e.seconds)}`
          v.settle = { ok: true, message: '' }
          return refresh(e.vm)
        }
        case 'vm.failed': {
          const v = view(e.vm)
          v.stage = `failed at ${e.stage ?? '?'}`
          v.settle = { ok: false, message: `${e.vm}: ${String(e.error.message)}${e.rolledBack ? ' (rolled back)' : ''}` }
          return refresh(e.vm)
        }
        case 'vm.rollback': {
          if (e.state !== 'done') {
            view(e.vm).stage = `rollback ${e.state}${e.message ? `: ${e.message}` : ''}`
            refresh(e.vm)
          }
          return
        }
        default: {
          const warm = warmLine(e)
          if (warm && 'vm' in e && e.vm) {
            view(e.vm).stage = warm
            refresh(e.vm)
          }
          return
        }
      }
    },
    async finish(report?: MigrationReport) {
      announce([...views.keys()])
      for (const [key, v] of views)
        if (!v.settle) {
          v.settle = { ok: false, message: `${key}: not finished` }
          refresh(key)
        }
      await running
      if (report) write(`Migration ${report.id} ${report.status}${report.seconds !== undefined ? ` in ${duration(report.seconds)}` : ''}`)
    },
  }
}
