import assert from 'node:assert/strict'
import type { DestinationCapabilities } from '../destination.js'
import { DISK_FORMATS } from '../model.js'
import type { SourceCapabilities } from '../source.js'
import { assertDeepFrozen, assertSubset, DRIVER_NAME, jsonRoundTrip } from './checks.js'

/** Checks on what a driver declares about itself, before any call is made. */

/** Name usable as `driver:` in a plan, and the contract version this SDK speaks. */
export function checkIdentity(driver: { name: unknown; apiVersion: unknown }): void {
  assert.equal(typeof driver.name, 'string', 'driver.name must be a string')
  assert.match(driver.name as string, DRIVER_NAME, `driver.name "${String(driver.name)}" must match ${DRIVER_NAME}`)
  assert.equal(driver.apiVersion, 1, 'driver.apiVersion must be 1')
}

/** Frozen (the core reads them once and trusts them), JSON-safe (shown by `guts drivers`), valid. */
export function checkSourceCapabilities(caps: SourceCapabilities): void {
  assert.ok(typeof caps === 'object' && caps !== null, 'capabilities must be an object')
  assertDeepFrozen(caps, 'capabilities')
  jsonRoundTrip(caps, 'capabilities')
  for (const flag of ['liveExport', 'changedBlocks', 'powerControl'] as const) {
    assert.equal(typeof caps[flag], 'boolean', `capabilities.${flag} must be a boolean`)
  }
  assertSubset(caps.diskAccess, ['file', 'http', 'nbd', 'stream'], 'capabilities.diskAccess')
}

export function checkDestinationCapabilities(caps: DestinationCapabilities): void {
  assert.ok(typeof caps === 'object' && caps !== null, 'capabilities must be an object')
  assertDeepFrozen(caps, 'capabilities')
  jsonRoundTrip(caps, 'capabilities')
  assertSubset(caps.diskTargets, ['image', 'volume', 'file'], 'capabilities.diskTargets')
  assertSubset(caps.acceptsFormats, DISK_FORMATS, 'capabilities.acceptsFormats')
  assertSubset(caps.firmware, ['bios', 'uefi'], 'capabilities.firmware')
  assert.equal(typeof caps.incremental, 'boolean', 'capabilities.incremental must be a boolean')
}

/** `connect` may finish setting a driver up, but must not change what it declared. */
export async function checkConnectKeepsCapabilities(
  driver: { readonly capabilities: object },
  connect: () => Promise<void>,
): Promise<void> {
  const before = JSON.stringify(driver.capabilities)
  await connect()
  await connect() // idempotent: the core reconnects after a restart without tracking state
  assert.equal(JSON.stringify(driver.capabilities), before, 'capabilities must not change after connect')
}
