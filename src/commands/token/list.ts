import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/tables.js'
import type { TokenView } from '../../core/service.js'
import { short } from '../../core/short-id.js'

export default class TokenList extends BaseCommand<typeof TokenList> {
  static override summary = 'List the API tokens of guts serve, newest first'
  static override description = 'Revoked tokens are listed too. Secrets are never shown: PREFIX is how each one starts.'

  async run(): Promise<TokenView[]> {
    const tokens = await (await this.service()).listTokens()
    if (!tokens.length) this.log('No API tokens yet. Create one with `guts token create --name NAME --role viewer|operator|admin`.')
    else this.render(tokens)
    return tokens
  }

  private render(tokens: TokenView[]): void {
    const at = (t: string | undefined) => t?.replace('T', ' ').slice(0, 19) ?? ''
    const body = tokens.map((t) => [
      short(t.id),
      t.name,
      t.role,
      `guts_${t.prefix}…`,
      at(t.createdAt),
      at(t.lastUsedAt) || 'never',
      at(t.revokedAt),
    ])
    for (const line of table([['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'], ...body])) this.log(line)
  }
}
