/** A plain aligned text table (no colours: it must read the same in CI logs and pipes). */
export function table(rows: string[][]): string[] {
  if (!rows.length) return []
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
}
