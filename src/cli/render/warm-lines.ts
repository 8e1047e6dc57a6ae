import type { MigrationEvent } from '../../core/pipeline/events.js'
import { bytes, duration } from './format.js'

/** One line for the warm-migration and power events, shared by the plain and listr renderers. */
export function warmLine(e: MigrationEvent): string | undefined {
  switch (e.type) {
    case 'vm.sync':
      return `${e.kind} sync ${e.sync} done: ${bytes(e.bytesChanged)} changed, ${bytes(e.bytesMoved)} moved in ${duration(e.seconds)}`
    case 'vm.warm':
      return e.state === 'cutover'
        ? 'cutting over'
        : `in sync; next delta at ${clock(e.nextSyncAt)}${e.cutoverAt ? `, cutover at ${clock(e.cutoverAt)}` : ' — `guts migration cutover` when ready'}`
    case 'vm.poweroff':
      return e.state === 'started'
        ? `powering the source off (${e.method === 'force' ? 'forced' : 'guest shutdown'})`
        : 'source powered off'
    case 'vm.poweron':
      return 'source powered on again (the migration did not finish and was rolled back)'
    case 'vm.downtime':
      return `downtime ${duration(e.seconds)} (source off ${clock(e.poweredOffAt)} → destination running ${clock(e.runningAt)})`
    default:
      return undefined
  }
}

function clock(iso: string | undefined): string {
  return iso ? iso.replace(/^.*T(\d\d:\d\d:\d\d).*$/, '$1Z') : '?'
}
