/**
 * The driver's insides for guts' own integration tests and benchmarks (`@guts/driver-vmware/testing`):
 * the vim25 client, the driver class and its helpers. Not a stable API; plans and the core use
 * only the package's default export (the driver factory).
 */
export { VmwareSource, VMWARE_CAPABILITIES } from './driver.js'
export { describeVm } from './describe.js'
export { listVms, folderPath, globMatcher, inFolder } from './inventory.js'
export { guestOs } from './os.js'
export { preflightFindings } from './preflight.js'
export { carriesMarks, snapshotDescription, snapshotNodes } from './export/leftovers.js'
export * from './client/index.js'
