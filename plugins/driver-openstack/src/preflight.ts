import { isGutsError, type DriverContext, type Finding, type TargetMapping, type VmDescriptor } from '@guts/sdk'
import type { OpenStackClient } from './client/index.js'
import type { Flavor } from './client/nova.js'
import { fits, resolveFlavor } from './flavor.js'
import { gibCeil } from './image-properties.js'
import type { OpenStackOptions } from './options.js'
import { markTag, planImport, rootDiskGiB, type OpenStackSessionData, type SessionNic } from './session.js'

/** A quota row: what the VM needs against what is left (-1 = unlimited). */
export function quotaFinding(what: string, need: number, limit: number, used: number, ref: string, unit = ''): Finding | undefined {
  if (need <= 0 || limit < 0 || used + need <= limit) return undefined
  return {
    severity: 'error',
    code: `quota-${what}`,
    message: `The project's ${what} quota is exhausted: ${ref} needs ${need}${unit}, but only ${Math.max(0, limit - used)}${unit} of ${limit}${unit} are left.`,
    ref,
  }
}

/**
 * Everything that would make the import fail, checked without creating anything: credentials,
 * flavor, networks, security groups, key pair, volume type, and the project's quotas for this VM.
 */
export async function preflightFindings(
  client: OpenStackClient,
  options: OpenStackOptions,
  vm: VmDescriptor,
  mapping: TargetMapping,
  ctx: DriverContext,
): Promise<Finding[]> {
  const ref = vm.name
  const findings: Finding[] = []
  const add = (severity: Finding['severity'], code: string, message: string): void => {
    findings.push({ severity, code, message, ref })
  }
  let plan: OpenStackSessionData
  try {
    plan = planImport(vm, mapping, options)
  } catch (error) {
    if (!isGutsError(error)) throw error
    return [{ severity: 'error', code: 'plan-unsupported', message: error.message, ref }]
  }
  let projectId: string
  try {
    projectId = await client.http.projectId(ctx.signal)
  } catch (error) {
    if (!isGutsError(error) || error.code === 'GUTS_ABORTED') throw error
    // Nothing else can be checked without a token.
    return [
      { severity: 'error', code: error.code === 'GUTS_AUTH_FAILED' ? 'auth-failed' : 'unreachable', message: `${error.message}`, ref },
    ]
  }
  const { signal } = ctx

  let flavor: Flavor | undefined
  const need = { vcpus: plan.cpus, ramMiB: plan.memoryMiB, diskGiB: rootDiskGiB(plan) }
  const resolved = resolveFlavor(await client.nova.flavors(signal), plan.flavor, need)
  if ('problem' in resolved) {
    add('error', resolved.code, resolved.problem)
  } else {
    flavor = resolved.flavor
    if (!fits(flavor, need)) {
      if (flavor.ram < need.ramMiB)
        add(
          'error',
          'flavor-too-small',
          `Flavor ${flavor.name} has ${flavor.ram} MiB RAM; the VM has ${need.ramMiB} MiB, which its image's min_ram requires.`,
        )
      if (need.diskGiB && flavor.disk < need.diskGiB)
        add(
          'error',
          'flavor-disk-too-small',
          `Flavor ${flavor.name} has a ${flavor.disk} GiB disk; the boot disk needs ${need.diskGiB} GiB (or use bootFrom: volume).`,
        )
      if (flavor.vcpus < need.vcpus)
        add('warning', 'flavor-fewer-cpus', `Flavor ${flavor.name} has ${flavor.vcpus} vCPUs; the source VM had ${need.vcpus}.`)
    }
  }

  let ports = 0
  for (const nic of plan.nics) {
    if (!nic.network) {
      const source = vm.nics.find((n) => n.id === nic.id)?.network
      add(
        'warning',
        'network-not-mapped',
        `NIC ${nic.id} is on "${source}", which no network mapping covers; the server gets no port for it.`,
      )
      continue
    }
    ports++
    const network = await client.neutron.network(nic.network, signal).catch((error: unknown) => {
      if (isGutsError(error) && error.code === 'GUTS_CONFLICT') add('error', 'network-ambiguous', error.message)
      else throw error
      return null
    })
    if (network === undefined)
      add(
        'error',
        'network-not-found',
        `Neutron network "${nic.network}" (mapped from NIC ${nic.id}) does not exist or is not visible to the project.`,
      )
    else if (network && nic.keepMac && network.project_id !== projectId && !(await client.http.roles(signal)).includes('admin')) {
      // Neutron's default policy (create_port:mac_address) lets only the network's owner or an
      // admin choose a MAC; a cloud with its own policy may allow more, hence a warning.
      add(
        'warning',
        'mac-needs-owner',
        `NIC ${nic.id} keeps its MAC ${nic.mac}, but network "${nic.network}" belongs to another project; by Neutron's default policy only its owner or an admin may set a port's MAC. Set keepMac: false, use a network of this project, or use admin credentials.`,
      )
    } else if (network && nic.fixedIp && !(await client.neutron.subnetsOf(network.id, signal)).length) {
      add('error', 'subnet-missing', `Network "${nic.network}" has no subnet, so NIC ${nic.id} cannot get fixed IP ${nic.fixedIp}.`)
    }
    if (network) for (const f of await addressesInUse(client, network.id, nic, markTag(plan.mark), signal)) add('error', f.code, f.message)
  }
  if (plan.securityGroups?.length) {
    const { missing } = await client.neutron.securityGroups(plan.securityGroups, projectId, signal)
    for (const name of missing) add('error', 'security-group-not-found', `Security group "${name}" does not exist in the project.`)
  }
  if (plan.keyPair && !(await client.nova.keyPairExists(plan.keyPair, signal))) {
    add('error', 'keypair-not-found', `Key pair "${plan.keyPair}" does not exist for this user.`)
  }
  const volumes = plan.disks.filter((d) => d.volumeName)
  if (plan.volumeType && volumes.length) {
    const types = await client.cinder.volumeTypes(signal)
    if (!types.some((t) => t.name === plan.volumeType || t.id === plan.volumeType)) {
      add(
        'error',
        'volume-type-not-found',
        `Volume type "${plan.volumeType}" does not exist (known: ${types.map((t) => t.name).join(', ') || 'none'}).`,
      )
    }
  }
  if (plan.availabilityZone) {
    const zones = await client.nova.availabilityZones(signal)
    if (!zones.includes(plan.availabilityZone))
      add(
        'error',
        'availability-zone-not-found',
        `Availability zone "${plan.availabilityZone}" is not available (known: ${zones.join(', ') || 'none'}).`,
      )
  }
  if (vm.secureBoot)
    add('info', 'secure-boot', 'The image asks for secure boot (os_secure_boot=required); the compute hosts must support it.')

  const compute = await client.nova.limits(signal)
  const quota = [
    quotaFinding('instances', 1, compute.maxTotalInstances, compute.totalInstancesUsed, ref),
    quotaFinding('cores', flavor?.vcpus ?? plan.cpus, compute.maxTotalCores, compute.totalCoresUsed, ref),
    quotaFinding('ram', flavor?.ram ?? plan.memoryMiB, compute.maxTotalRAMSize, compute.totalRAMUsed, ref, ' MiB'),
  ]
  if (volumes.length) {
    const block = await client.cinder.limits(signal)
    quota.push(
      quotaFinding('volumes', volumes.length, block.maxTotalVolumes, block.totalVolumesUsed, ref),
      quotaFinding(
        'gigabytes',
        volumes.reduce((s, d) => s + gibCeil(d.virtualSize), 0),
        block.maxTotalVolumeGigabytes,
        block.totalGigabytesUsed,
        ref,
        ' GiB',
      ),
    )
  }
  const portQuota = ports ? await client.neutron.portQuota(projectId, signal) : undefined
  if (portQuota) quota.push(quotaFinding('ports', ports, portQuota.limit, portQuota.used + portQuota.reserved, ref))
  findings.push(...quota.filter((f): f is Finding => f !== undefined))
  return findings
}

/**
 * A MAC (kept from the source) or fixed IP another port on the network already holds: Neutron would
 * refuse the port after the disks were uploaded. Ports of this same migration (an earlier attempt,
 * reused on resume) do not count.
 */
async function addressesInUse(
  client: OpenStackClient,
  networkId: string,
  nic: SessionNic,
  ownTag: string,
  signal: AbortSignal,
): Promise<{ code: string; message: string }[]> {
  const out: { code: string; message: string }[] = []
  const holders = async (what: { mac?: string; ip?: string }) =>
    (await client.neutron.portsUsing(networkId, what, signal))
      .filter((p) => !(p.tags ?? []).includes(ownTag))
      .map((p) => `port ${p.name || p.id}${p.device_id ? ` of ${p.device_owner || 'device'} ${p.device_id}` : ''}`)
  if (nic.keepMac && nic.mac) {
    const used = await holders({ mac: nic.mac })
    if (used.length)
      out.push({
        code: 'mac-in-use',
        message: `NIC ${nic.id} keeps MAC ${nic.mac}, which ${used.join(', ')} already has on network "${nic.network}". Delete that port (is the VM already migrated?), or set keepMac: false.`,
      })
  }
  if (nic.fixedIp) {
    const used = await holders({ ip: nic.fixedIp })
    if (used.length)
      out.push({
        code: 'fixed-ip-in-use',
        message: `NIC ${nic.id} asks for fixed IP ${nic.fixedIp}, which ${used.join(', ')} already has on network "${nic.network}". Free it, or change fixedIp.`,
      })
  }
  return out
}
