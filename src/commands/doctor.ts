import { BaseCommand } from '../cli/base-command.js'
import type { DoctorCheck } from '../core/service.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Check that this machine has what guts needs'
  static override description =
    'Checks Node, qemu-img (required), optional tools (virt-v2v, nbdkit), the data directory and its free space, and the state store (SQLite, or PostgreSQL from GUTS_DATABASE_URL), and says how to install what is missing. Exit 1 when a required check fails.'

  async run(): Promise<DoctorCheck[]> {
    const checks = await (await this.service()).doctor()
    for (const c of checks)
      this.log(
        `${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name.padEnd(18)} ${c.detail}${c.ok || !c.fix ? '' : `\n     → ${c.fix}`}`,
      )
    this.exitCode(checks.some((c) => c.required && !c.ok) ? 1 : 0)
    return checks
  }
}
