import { GutsError, type PowerState, type VmQuery, type VmSummary } from '@guts/sdk'
import { retrieveAll, type Caller, type PropValue } from './client/property-collector.js'
import { isMoref, type Moref } from './client/xml.js'

/** Names and parents of the folders and datacenters above VMs, to print `/DC0/vm/app/web-01`. */
export interface Tree {
  nodes: Map<string, { name: string; parent?: string; type: string }>
  hosts: Map<string, string>
}

const key = (m: Moref): string => `${m.type}:${m.value}`

/** Two ContainerView listings (Folder + Datacenter, HostSystem); small next to the VM list. */
export async function loadTree(caller: Caller, signal?: AbortSignal): Promise<Tree> {
  const nodes: Tree['nodes'] = new Map()
  for (const type of ['Folder', 'Datacenter']) {
    for await (const o of retrieveAll(caller, type, ['name', 'parent'], signal ? { signal } : {})) {
      const parent = o.props.parent
      nodes.set(key(o.obj), { name: String(o.props.name ?? o.obj.value), type, ...(isMoref(parent) ? { parent: key(parent) } : {}) })
    }
  }
  const hosts: Tree['hosts'] = new Map()
  for await (const o of retrieveAll(caller, 'HostSystem', ['name'], signal ? { signal } : {}))
    hosts.set(o.obj.value, String(o.props.name ?? o.obj.value))
  return { nodes, hosts }
}

/**
 * `/DC0/vm/app` for a VM's parent folder. The root folder ("Datacenters") is left out, as govc
 * does, so paths start at the datacenter.
 */
export function folderPath(tree: Tree, parent: PropValue): string | undefined {
  if (!isMoref(parent)) return undefined
  const parts: string[] = []
  let cur: string | undefined = key(parent)
  for (let guard = 0; cur && guard < 100; guard++) {
    const node = tree.nodes.get(cur)
    if (!node) break
    if (!node.parent) break // the root folder
    parts.unshift(node.name)
    cur = node.parent
  }
  return `/${parts.join('/')}`
}

export function powerState(v: PropValue): PowerState {
  if (v === 'poweredOn') return 'on'
  if (v === 'poweredOff') return 'off'
  if (v === 'suspended') return 'suspended'
  return 'unknown'
}

/** `app-*`, `web-0?`: a glob on the whole name, case-sensitive like vSphere names. */
export function globMatcher(glob: string): (name: string) => boolean {
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  )
  return (name) => re.test(name)
}

/** A folder prefix matches whole path segments: `/DC0/vm/app` takes `/DC0/vm/app/x`, not `/DC0/vm/apple`. */
export function inFolder(path: string | undefined, prefix: string): boolean {
  if (!path) return false
  const p = prefix.endsWith('/') && prefix.length > 1 ? prefix.slice(0, -1) : prefix
  const want = p.startsWith('/') ? p : `/${p}`
  return want === '/' || path === want || path.startsWith(`${want}/`)
}

export const SUMMARY_PROPS = ['name', 'runtime.powerState', 'runtime.host', 'parent', 'config.template']

/**
 * Every VM (templates left out: they cannot be exported as machines) matching the query,
 * streamed page by page. `datacenter` limits the listing to one datacenter's VMs.
 */
export async function* listVms(
  caller: Caller,
  query: VmQuery,
  opts: { datacenter?: string; signal?: AbortSignal; maxObjects?: number },
): AsyncGenerator<VmSummary> {
  const tree = await loadTree(caller, opts.signal)
  const byName = query.name ? globMatcher(query.name) : undefined
  for await (const o of retrieveAll(caller, 'VirtualMachine', SUMMARY_PROPS, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.maxObjects ? { maxObjects: opts.maxObjects } : {}),
  })) {
    if (o.props['config.template'] === 'true') continue
    const vm = summaryOf(tree, o.obj, o.props)
    if (opts.datacenter && !inFolder(vm.folder, `/${opts.datacenter}`)) continue
    if (byName && !byName(vm.name)) continue
    if (query.folder && !inFolder(vm.folder, query.folder)) continue
    if (query.powerState && vm.powerState !== query.powerState) continue
    yield vm
  }
}

export function summaryOf(tree: Tree, obj: Moref, props: Record<string, PropValue>): VmSummary {
  const folder = folderPath(tree, props.parent)
  const host = props['runtime.host']
  const hostName = isMoref(host) ? (tree.hosts.get(host.value) ?? host.value) : undefined
  return {
    id: obj.value,
    name: String(props.name ?? obj.value),
    powerState: powerState(props['runtime.powerState']),
    ...(folder ? { folder } : {}),
    ...(hostName ? { host: hostName } : {}),
  }
}

export function vmRef(id: string): Moref {
  if (!id) throw new GutsError('GUTS_NOT_FOUND', 'No VM id given.')
  return { type: 'VirtualMachine', value: id }
}
