/**
 * Every guts command, imported statically and keyed by its oclif id (':' separates topics).
 *
 * `bin/run.js` (Node) still discovers commands from dist/commands by file pattern; this list is
 * for the single executable built with `bun build --compile` (src/binary.ts), where there is no
 * directory to scan. test/unit/commands-index.test.ts fails when a file under src/commands has no
 * entry here, so the binary cannot silently miss a command.
 */
import type { Command } from '@oclif/core'
import ConfigGet from './commands/config/get.js'
import ConfigSet from './commands/config/set.js'
import ConfigUnset from './commands/config/unset.js'
import Doctor from './commands/doctor.js'
import DriversList from './commands/drivers/list.js'
import Migrate from './commands/migrate.js'
import MigrationCancel from './commands/migration/cancel.js'
import MigrationCutover from './commands/migration/cutover.js'
import MigrationCleanup from './commands/migration/cleanup.js'
import MigrationList from './commands/migration/list.js'
import MigrationResume from './commands/migration/resume.js'
import MigrationRetry from './commands/migration/retry.js'
import MigrationShow from './commands/migration/show.js'
import PlanInit from './commands/plan/init.js'
import PlanSchema from './commands/plan/schema.js'
import PlanValidate from './commands/plan/validate.js'
import Serve from './commands/serve.js'
import TokenCreate from './commands/token/create.js'
import TokenList from './commands/token/list.js'
import TokenRevoke from './commands/token/revoke.js'
import VmList from './commands/vm/list.js'
import VmShow from './commands/vm/show.js'

export const COMMANDS: Record<string, Command.Class> = {
  'config:get': ConfigGet,
  'config:set': ConfigSet,
  'config:unset': ConfigUnset,
  doctor: Doctor,
  'drivers:list': DriversList,
  migrate: Migrate,
  'migration:cancel': MigrationCancel,
  'migration:cutover': MigrationCutover,
  'migration:cleanup': MigrationCleanup,
  'migration:list': MigrationList,
  'migration:resume': MigrationResume,
  'migration:retry': MigrationRetry,
  'migration:show': MigrationShow,
  'plan:init': PlanInit,
  'plan:schema': PlanSchema,
  'plan:validate': PlanValidate,
  serve: Serve,
  'token:create': TokenCreate,
  'token:list': TokenList,
  'token:revoke': TokenRevoke,
  'vm:list': VmList,
  'vm:show': VmShow,
}
