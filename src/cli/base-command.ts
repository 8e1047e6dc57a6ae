import { Command, Flags, type Interfaces } from '@oclif/core'
import { GutsError, isGutsError } from '@guts/sdk'
import { loadGutsConfig } from '../core/config/load-config.js'
import { createMigrationService, type MigrationService } from '../core/service.js'
import { dataDir } from '../core/state/data-dir.js'
import { openStateStore } from '../core/state/open-store.js'
import type { StateStore } from '../core/state/store.js'
import { DriverRegistry, type PluginLike } from '../drivers/registry.js'
import { exitCodeForError, renderError } from './errors.js'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openUserSettings, settingsDir, type UserSettings } from '../core/config/user-settings.js'

export const EXIT_CODES_HELP = 'Exit codes: 0 all VMs migrated · 1 failed · 2 invalid plan or usage · 68 partial (some VMs failed) · 69 still running · 130 cancelled'

/**
 * Shared by every command: GutsErrors print as a message with suggestions (no stack) and map to
 * exit codes; `--config` and `--data-dir` reach the one service the command calls.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({ description: 'guts config file (default: guts.config.yaml / .gutsrc* found upwards)', helpGroup: 'GLOBAL' }),
    'data-dir': Flags.string({ description: 'Where guts keeps its state', env: 'GUTS_DATA_DIR', helpGroup: 'GLOBAL' }),
  }

  protected flags!: Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
  private store?: StateStore

  public override async init(): Promise<void> {
    await super.init()
    const { flags } = await this.parse({ flags: this.ctor.flags, baseFlags: (this.ctor as unknown as typeof BaseCommand).baseFlags, args: this.ctor.args, strict: this.ctor.strict })
    this.flags = flags as typeof this.flags
  }

  protected registry(): DriverRegistry {
    return DriverRegistry.fromPlugins(this.config.getPluginsList() as unknown as PluginLike[], this.config.version)
  }

  /** The migration service over the state store (opened once per command). */
  protected async service(options: { configFrom?: string } = {}): Promise<MigrationService> {
    const dir = await this.dataDir()
    const { config } = await loadGutsConfig({ ...(this.flags.config ? { explicitPath: this.flags.config } : {}), ...(options.configFrom ? { from: options.configFrom } : {}) })
    // GUTS_DATABASE_URL (postgres://…) shares migrations between hosts; unset, SQLite in the data dir.
    // An env variable, not a flag: the URL may hold a password, which must not show in `ps`.
    const url = process.env.GUTS_DATABASE_URL || undefined
    const store = async () => (this.store = await openStateStore({ dataDir: dir, ...(url ? { url } : {}) }))
    return createMigrationService({ registry: this.registry(), store, config, workRoot: join(dir, 'work') })
  }

  /** --data-dir / GUTS_DATA_DIR, else the user's `dataDir` setting, else the XDG default. */
  protected async dataDir(): Promise<string> {
    return this.flags['data-dir'] || (await this.userSetting('dataDir')) || dataDir()
  }

  /** A user setting; conf is loaded only when the user has a settings file at all. */
  protected async userSetting<K extends keyof UserSettings>(key: K): Promise<UserSettings[K] | undefined> {
    if (!existsSync(join(settingsDir(), 'settings.json'))) return undefined
    return (await openUserSettings()).get(key)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    await this.store?.close().catch(() => undefined)
    return super.finally(err)
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (!isGutsError(err)) return super.catch(err)
    if (this.argv.includes('--json')) this.log(JSON.stringify({ error: (err as GutsError).toJSON() }))
    else this.logToStderr(renderError(err))
    this.exit(exitCodeForError(err))
  }
}
