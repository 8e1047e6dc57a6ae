import files from './files/index.js'
import local from './local/index.js'

/** The drivers shipped with guts itself: offline source `files`, offline destination `local`. */
export const BUILTIN_DRIVERS = [files, local] as const
