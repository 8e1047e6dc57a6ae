import { GutsError, type VmQuery, type VmSummary } from '@guts/sdk'

/**
 * Characters some driver's name glob gives a meaning: `*`, `?` and `[…]` (files, vmware, the SDK's
 * fake), and, to be safe with dialects guts may meet next, `]`, braces (brace expansion), a
 * backslash and a backtick (the escapes of shell globs and PowerShell's -like).
 */
const GLOB_CHARACTERS = /[*?[\]{}\\`]/

/**
 * A `listVms` query that returns at least every VM named exactly `name`, whatever the driver's
 * glob dialect: the name itself when it has no glob character, else the literal part before the
 * first one followed by `*` (no name filter at all when the name starts with one). The caller
 * filters exactly afterwards: `web-[1]` as a glob would match `web-1` and not itself.
 */
export function nameQuery(name: string): VmQuery {
  const at = name.search(GLOB_CHARACTERS)
  if (at < 0) return { name }
  return at === 0 ? {} : { name: `${name.slice(0, at)}*` }
}

/**
 * The VM of a source whose name is exactly `name` (case-sensitive, as vSphere and Hyper-V names
 * are). `list` lists the source's VMs for a query; `where` names the source in messages. None:
 * GUTS_NOT_FOUND with close names when there are some (the whole source is listed for them);
 * several: GUTS_CONFLICT naming their ids. `details.vmName` marks both, so a front end can add how
 * to list the source or to name a VM by id in its own terms.
 */
export async function findVmByName(name: string, where: string, list: (query: VmQuery) => Promise<VmSummary[]>): Promise<VmSummary> {
  const named = (await list(nameQuery(name))).filter((vm) => vm.name === name)
  if (named.length === 1) return named[0]!
  if (named.length > 1) {
    const ids = named.map((vm) => vm.id).sort()
    throw new GutsError(
      'GUTS_CONFLICT',
      `${named.length} VMs on ${where} are named "${name}" (ids ${ids.join(', ')}); name one by its id.`,
      {
        ref: name,
        details: { vmName: name, ids },
      },
    )
  }
  const close = closeNames(
    name,
    (await list({})).map((vm) => vm.name),
  )
  throw new GutsError('GUTS_NOT_FOUND', `No VM named "${name}" on ${where}.`, {
    ref: name,
    suggestions: [
      ...(close.length ? [`Close names: ${close.map((n) => `"${n}"`).join(', ')}.`] : []),
      'List the VMs of the source to see their exact names (names are case-sensitive).',
    ],
    details: { vmName: name, closeNames: close },
  })
}

/**
 * Names a user who typed `name` may have meant: the same name in another case, else the few names
 * sharing the longest start with it (at least three letters, or all of a shorter name).
 */
export function closeNames(name: string, names: readonly string[], max = 5): string[] {
  const unique = [...new Set(names)].filter((n) => n !== name).sort()
  const lower = name.toLowerCase()
  const otherCase = unique.filter((n) => n.toLowerCase() === lower)
  if (otherCase.length) return otherCase.slice(0, max)
  const shared = (n: string) => {
    const other = n.toLowerCase()
    let i = 0
    while (i < lower.length && i < other.length && lower[i] === other[i]) i++
    return i
  }
  const longest = unique.reduce((most, n) => Math.max(most, shared(n)), 0)
  if (longest === 0 || longest < Math.min(3, name.length)) return []
  return unique.filter((n) => shared(n) === longest).slice(0, max)
}
