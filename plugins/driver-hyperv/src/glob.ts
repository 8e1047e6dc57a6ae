/**
 * `*` and `?` wildcards, case-insensitive, as both Get-VM -Name and OpenSSH's known_hosts host
 * patterns read them; every other character stands for itself.
 */
export function wildcardRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`, 'i')
}
