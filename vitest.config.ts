import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/driver-template/test/**/*.test.ts', 'plugins/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here: more workers only thrash qemu-img and SQLite.
    maxWorkers: 2,
  },
})
