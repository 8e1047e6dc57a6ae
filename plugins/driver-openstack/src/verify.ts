import type { DriverContext, Finding, InstanceRef } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import type { OpenStackSessionData } from './session.js'

/** After boot: the server is ACTIVE, its ports carry the source MACs, its volumes are attached. */
export async function verifyServer(
  client: OpenStackClient,
  data: OpenStackSessionData,
  instance: InstanceRef,
  vmName: string,
  ctx: DriverContext,
): Promise<Finding[]> {
  const findings: Finding[] = []
  const server = await client.nova.server(instance.id, ctx.signal)
  if (!server)
    return [
      { severity: 'error', code: 'server-missing', message: `Server ${instance.id} (${data.serverName}) no longer exists.`, ref: vmName },
    ]
  if (server.status !== 'ACTIVE') {
    findings.push({
      severity: 'error',
      code: 'server-not-active',
      message: `Server ${server.name} is ${server.status}${server.fault?.message ? `: ${server.fault.message}` : ''}.`,
      ref: vmName,
    })
  }
  const ports = await client.neutron.portsOfDevice(server.id, ctx.signal)
  for (const nic of data.nics) {
    if (!nic.network) continue
    const port = ports.find((p) => p.name === nic.portName)
    if (!port) {
      findings.push({
        severity: 'error',
        code: 'port-missing',
        message: `NIC ${nic.id} has no port attached to ${server.name}.`,
        ref: vmName,
      })
    } else if (nic.keepMac && port.mac_address.toLowerCase() !== nic.mac) {
      findings.push({
        severity: 'error',
        code: 'mac-mismatch',
        message: `NIC ${nic.id}: port ${port.id} has MAC ${port.mac_address}, the source had ${nic.mac}.`,
        ref: vmName,
      })
    } else if (port['binding:vif_type'] === 'binding_failed') {
      findings.push({
        severity: 'error',
        code: 'port-binding-failed',
        message: `Port ${port.id} of NIC ${nic.id} could not be bound by Neutron.`,
        ref: vmName,
      })
    }
  }
  const attached = new Set((server['os-extended-volumes:volumes_attached'] ?? []).map((v) => v.id))
  for (const disk of data.disks) {
    if (!disk.volumeName) continue
    const volume = (await client.cinder.findByName(disk.volumeName, { 'guts-migration': data.mark.slice(0, 255) }, ctx.signal))[0]
    if (!volume || !attached.has(volume.id)) {
      findings.push({
        severity: 'error',
        code: 'volume-not-attached',
        message: `Volume ${disk.volumeName} (disk ${disk.id}) is not attached to ${server.name}.`,
        ref: vmName,
      })
    }
  }
  return findings
}
