/**
 * The driver's insides for guts' own integration tests and benchmarks (`@guts/driver-openstack/testing`):
 * the OpenStack client and the driver class. Not a stable API; plans and the core use only the
 * package's default export (the driver factory).
 */
export { OpenStackDestination, OPENSTACK_CAPABILITIES } from './driver.js'
export { OpenStackClient, loadCloudConfig, type CloudConfig, type CloudOverrides } from './client/index.js'
