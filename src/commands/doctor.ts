import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { runDoctor } from '../core/doctor.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check that this machine has what guts needs'
  static override description = 'Checks Node, qemu-img (required), optional tools (virt-v2v, nbdkit) and the data directory, and says how to install what is missing. Exit 1 when a required check fails.'
  static override flags = { json: Flags.boolean({ description: 'Print as JSON' }) }

  async run(): Promise<void> {
    const checks = await runDoctor({ dataDir: await this.dataDir() })
    if (this.flags.json) this.log(JSON.stringify(checks, null, 2))
    else for (const c of checks) this.log(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name.padEnd(18)} ${c.detail}${c.ok || !c.fix ? '' : `\n     → ${c.fix}`}`)
    if (checks.some((c) => c.required && !c.ok)) this.exit(1)
  }
}
