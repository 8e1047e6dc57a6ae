import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import type { TokenView } from '../../core/service.js'
import { short } from '../../core/short-id.js'

export default class TokenCreate extends BaseCommand<typeof TokenCreate> {
  static override summary = 'Create an API token for guts serve'
  static override description =
    'Prints the secret once: guts keeps only its sha256, so it cannot be shown again. Clients send it as `Authorization: Bearer <token>`; `guts token revoke` stops it.'
  static override examples = ['<%= config.bin %> token create --name ci-pipeline --role operator']
  static override flags = {
    name: Flags.string({ description: 'Who or what will use it (shown by `guts token list`)', required: true }),
    role: Flags.string({
      description: 'viewer reads; operator also starts, cancels and cleans up migrations; admin may do everything',
      required: true,
      options: ['viewer', 'operator', 'admin'],
    }),
  }

  async run(): Promise<{ token: TokenView; secret: string }> {
    const created = await (await this.service()).createToken({ name: this.flags.name, role: this.flags.role })
    const { token, secret } = created
    this.log(`Created API token ${short(token.id)} "${token.name}" (${token.role}):`)
    this.log('')
    this.log(`  ${secret}`)
    this.log('')
    this.log('Copy it now: it will not be shown again (guts keeps only its hash).')
    return created
  }
}
