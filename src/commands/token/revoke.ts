import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import type { TokenView } from '../../core/service.js'
import { short } from '../../core/short-id.js'

export default class TokenRevoke extends BaseCommand<typeof TokenRevoke> {
  static override summary = 'Revoke an API token'
  static override description = 'guts serve refuses it from the next request on. Revoking a revoked token changes nothing.'
  static override args = { id: Args.string({ description: 'Token id (or a unique prefix of at least 4 characters)', required: true }) }

  async run(): Promise<TokenView> {
    const { args } = await this.parse(TokenRevoke)
    const token = await (await this.service()).revokeToken(args.id)
    this.log(
      `API token ${short(token.id)} "${token.name}" (${token.role}) is revoked since ${token.revokedAt?.replace('T', ' ').slice(0, 19)}.`,
    )
    return token
  }
}
