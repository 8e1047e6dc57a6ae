/** The first 8 characters of a migration id: how messages and tables show it (any unique prefix of 4+ is accepted back). */
export function short(id: string): string {
  return id.slice(0, 8)
}
