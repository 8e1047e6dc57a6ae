// Lint for guts: typescript-eslint's recommended rules, no import cycles, and the layering rule of
// ARCHITECTURE.md as forbidden imports. Formatting is Prettier's (`npm run format`), not ESLint's.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'

/** `no-restricted-imports` patterns, each with the reason shown when it fires. */
const forbid = (...rules) => ({ 'no-restricted-imports': ['error', { patterns: rules.map(([group, message]) => ({ group, message })) }] })

const CLI = [['**/cli/**', '**/commands/**'], 'The core never imports the CLI: commands call the service, not the other way round.']
const BUILTIN_DRIVERS = [
  ['**/drivers/files/**', '**/drivers/local/**'],
  'The core never imports a driver: it reaches drivers through the registry.',
]
const PLUGIN_DRIVERS = [
  ['@guts/driver-*', '@guts/driver-*/**'],
  'The core never imports a driver plugin: it reaches drivers through the registry.',
]
const CORE = [
  ['**/core/**'],
  'Drivers never touch the core (state, pipeline, plan): they get what they need through @guts/sdk and ../../tools.',
]
const ENGINE = [['**/src/**', 'guts', 'guts/**'], 'Plugins never import the engine: only @guts/sdk and their own dependencies.']

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-fixtures/**', '**/node_modules/**', 'bench/.work/**', 'examples/quickstart/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      // How import-x parses the files it follows (without it a cycle through .ts files goes unseen).
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.json', 'plugins/*/tsconfig.json', 'examples/*/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        performance: 'readonly',
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Driver modules are generic over their options; `any` there is the SDK's documented escape hatch.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['src/core/**/*.ts'], rules: forbid(CLI, BUILTIN_DRIVERS, PLUGIN_DRIVERS) },
  {
    files: ['src/drivers/files/**/*.ts', 'src/drivers/local/**/*.ts'],
    rules: forbid(CORE, [['**/cli/**', '**/commands/**'], 'Drivers never touch the CLI or UI.']),
  },
  { files: ['plugins/**/*.ts', 'examples/driver-template/**/*.ts'], ignores: ['**/test/**'], rules: forbid(ENGINE, CORE) },
  {
    files: ['plugins/sdk/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!node:|\\.)', message: '@guts/sdk has no dependencies: Node built-ins and its own files only.' }] },
      ],
    },
  },
  // TypeScript checks names itself (and knows Node's globals from @types/node).
  { files: ['**/*.ts'], rules: { 'no-undef': 'off' } },
)
