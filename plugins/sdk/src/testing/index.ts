/**
 * `@guts/sdk/testing`: conformance suites for guts drivers, runner-agnostic (pass your runner's
 * `{ describe, it, beforeAll, afterAll }`), plus fakes to pair a driver with.
 *
 * ```ts
 * import { describe, it, beforeAll, afterAll } from 'vitest'
 * import { sourceDriverSuite } from '@guts/sdk/testing'
 * await sourceDriverSuite({ test: { describe, it, beforeAll, afterAll }, factory: () => myDriver(), fixture: { vm } })
 * ```
 *
 * The destination and pipeline suites move disks with the engine's own transfer, passed in as
 * `transfer` (`engineTransfer` from `guts/testing`): the SDK has no copier of its own, so a
 * driver that passes is certified with the code guts runs.
 */
export { sourceDriverSuite, exportOptionsFor, type SourceSuiteOptions } from './source-suite.js'
export { destinationDriverSuite, type DestinationSuiteOptions } from './destination-suite.js'
export { pipelineSuite, type PipelineSuiteOptions } from './pipeline-suite.js'
export { createTestContext, type TestContext } from './context.js'
export { fakeSourceDriver, FAKE_SOURCE_VM, FAKE_SOURCE_PASSWORD, type FakeSourceOptions, type FakeVmSpec } from './fake-source.js'
export { fakeDestinationDriver, readBackFakeDisk, FAKE_DESTINATION_FLAVORS, type FakeDestinationOptions } from './fake-destination.js'
export { testVm, testMapping } from './fixtures.js'
export { writeWith, type WriteDisk } from './import-steps.js'
export type { DiskTransfer, DiskTransferRequest } from './transfer.js'
export { TEST_TIMEOUT_MS, type TestApi, type TestFunction, type TestBody } from './test-api.js'
