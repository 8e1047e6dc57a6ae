import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Command, Flags, type Interfaces } from '@oclif/core'
import { isGutsError, type GutsError } from '@guts/sdk'
import type { MigrationService } from '../core/service.js'
import type { StateStore } from '../core/state/store.js'
import type { UserSettings } from '../core/config/user-settings.js'
import { DriverRegistry, type PluginLike } from '../drivers/registry.js'
import { exitCodeForError, renderError } from './errors.js'
import type { RunContext } from './run-and-render.js'

export const EXIT_CODES_HELP =
  'Exit codes: 0 all VMs migrated · 1 failed · 2 invalid plan or usage · 68 partial (some VMs failed) · 69 still running · 130 cancelled'

/**
 * Shared by every command: `--json` the oclif way (what `run()` returns is printed, its shape is
 * `schemas/<command>.json`), GutsErrors as a message with suggestions (no stack) mapped to exit
 * codes, and `--config` / `--data-dir` reaching the one service the command calls. The service,
 * its state store and config are loaded on first use, so `--help` and plan checks stay fast.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  /** Commands whose `--json` is a stream of JSON lines (events, then the result) set this. */
  static jsonLines = false

  static override baseFlags = {
    config: Flags.string({ description: 'guts config file (default: guts.config.yaml / .gutsrc* found upwards)', helpGroup: 'GLOBAL' }),
    'data-dir': Flags.string({ description: 'Where guts keeps its state', env: 'GUTS_DATA_DIR', helpGroup: 'GLOBAL' }),
  }

  protected flags!: Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
  private store?: StateStore

  public override async init(): Promise<void> {
    await super.init()
    const ctor = this.ctor as unknown as typeof BaseCommand
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: ctor.baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
      enableJsonFlag: ctor.enableJsonFlag,
    })
    this.flags = flags as typeof this.flags
  }

  protected registry(): DriverRegistry {
    return DriverRegistry.fromPlugins(this.config.getPluginsList() as unknown as PluginLike[], this.config.version)
  }

  /** The service over the state store (opened once per command, on first use). */
  protected async service(options: { configFrom?: string } = {}): Promise<MigrationService> {
    const [{ createMigrationService }, { loadGutsConfig }, { openStateStore }] = await Promise.all([
      import('../core/service.js'),
      import('../core/config/load-config.js'),
      import('../core/state/open-store.js'),
    ])
    const dir = await this.dataDir()
    const { config, filepath } = await loadGutsConfig({
      ...(this.flags.config ? { explicitPath: this.flags.config } : {}),
      ...(options.configFrom ? { from: options.configFrom } : {}),
    })
    // GUTS_DATABASE_URL (postgres://…) shares migrations between hosts; unset, SQLite in the data dir.
    // An env variable, not a flag: the URL may hold a password, which must not show in `ps`.
    const url = process.env.GUTS_DATABASE_URL || undefined
    const store = async () => (this.store = await openStateStore({ dataDir: dir, ...(url ? { url } : {}) }))
    return createMigrationService({
      registry: this.registry(),
      store,
      config,
      ...(filepath ? { configFile: filepath } : {}),
      workRoot: join(dir, 'work'),
      dataDir: dir,
      ...(url ? { databaseUrl: url } : {}),
    })
  }

  /** --data-dir / GUTS_DATA_DIR, else the user's `dataDir` setting, else the XDG default. */
  protected async dataDir(): Promise<string> {
    const { dataDir } = await import('../core/state/data-dir.js')
    return this.flags['data-dir'] || (await this.userSetting('dataDir')) || dataDir()
  }

  /** A user setting; conf is loaded only when the user has a settings file at all. */
  protected async userSetting<K extends keyof UserSettings>(key: K): Promise<UserSettings[K] | undefined> {
    const { openUserSettings, settingsDir } = await import('../core/config/user-settings.js')
    if (!existsSync(join(settingsDir(), 'settings.json'))) return undefined
    return (await openUserSettings()).get(key)
  }

  /** How `migrate`, `resume` and `retry` render a run. */
  protected async runContext(): Promise<RunContext> {
    return {
      json: this.jsonEnabled(),
      output: await this.userSetting('output'),
      writeLine: (line) => this.writeLine(line),
      warn: (line) => process.stderr.write(`${line}\n`),
      exitCode: (code) => this.exitCode(code),
    }
  }

  /** One line on stdout, also under `--json` (for JSON-lines streams, which `log` would swallow). */
  protected writeLine(line: string): void {
    process.stdout.write(`${line}\n`)
  }

  /** Sets the exit code and lets `run()` return its result (so `--json` still prints it). */
  protected exitCode(code: number): void {
    if (code !== 0) process.exitCode = code
  }

  override logJson(json: unknown): void {
    const lines = (this.ctor as unknown as typeof BaseCommand).jsonLines
    this.writeLine(lines ? JSON.stringify(json) : JSON.stringify(json, null, 2))
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    await this.store?.close().catch(() => undefined)
    return super.finally(err)
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (!isGutsError(err)) {
      // `this.exit(n)` is an error to oclif; under --json it must not print as one.
      if (err.oclif?.exit !== undefined && this.jsonEnabled()) throw err
      return super.catch(err)
    }
    if (this.jsonEnabled()) this.logJson({ error: (err as GutsError).toJSON() })
    else this.logToStderr(renderError(err))
    this.exit(exitCodeForError(err))
  }
}
