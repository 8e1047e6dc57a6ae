import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { runDoctor } from '../core/doctor.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check that this machine has what guts needs'
  static override description = 'Checks Node, qemu-img (required), optional tools (virt-v2v, nbdkit), the data directory and its free space, and the state store (SQLite, or PostgreSQL from GUTS_DATABASE_URL), and says how to install what is missing. Exit 1 when a required check fails.'
  static override flags = { json: Flags.boolean({ description: 'Print as JSON' }) }

  async run(): Promise<void> {
    const url = process.env.GUTS_DATABASE_URL || undefined
    const checks = await runDoctor({ dataDir: await this.dataDir(), ...(url ? { databaseUrl: url } : {}) })
    if (this.flags.json) this.log(JSON.stringify(checks, null, 2))
    else for (const c of checks) this.log(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name.padEnd(18)} ${c.detail}${c.ok || !c.fix ? '' : `\n     → ${c.fix}`}`)
    if (checks.some((c) => c.required && !c.ok)) this.exit(1)
  }
}
