/**
 * OVF allocation units (DMTF DSP0004 programmatic units): `byte * 2^20`, `byte*10^9`,
 * `byte * 1024`, plus the legacy words older exporters write (`MegaBytes`, `GB`, `KiloBytes`).
 * Returns the number of bytes one unit stands for, or undefined when the string is unintelligible.
 */
export function allocationUnitBytes(units: string | undefined): number | undefined {
  if (units === undefined) return undefined
  const u = units.trim().toLowerCase().replace(/\s+/g, '')
  if (u === '') return undefined
  const programmatic = /^(?:byte|bytes)(?:\*(\d+)(?:\^(\d+))?)?$/.exec(u)
  if (programmatic) {
    const base = programmatic[1] === undefined ? 1 : Number(programmatic[1])
    const exponent = programmatic[2] === undefined ? 1 : Number(programmatic[2])
    return base ** exponent
  }
  const legacy: Record<string, number> = {
    b: 1,
    kb: 2 ** 10,
    kib: 2 ** 10,
    kilobyte: 2 ** 10,
    kilobytes: 2 ** 10,
    mb: 2 ** 20,
    mib: 2 ** 20,
    megabyte: 2 ** 20,
    megabytes: 2 ** 20,
    gb: 2 ** 30,
    gib: 2 ** 30,
    gigabyte: 2 ** 30,
    gigabytes: 2 ** 30,
    tb: 2 ** 40,
    tib: 2 ** 40,
    terabyte: 2 ** 40,
    terabytes: 2 ** 40,
  }
  return legacy[u]
}

/** `quantity * units` in bytes; `defaultUnitBytes` applies when the units attribute is absent. */
export function toBytes(quantity: string | undefined, units: string | undefined, defaultUnitBytes: number): number | undefined {
  if (quantity === undefined || !/^\d+(\.\d+)?$/.test(quantity.trim())) return undefined
  const unit = units === undefined || units.trim() === '' ? defaultUnitBytes : allocationUnitBytes(units)
  if (unit === undefined) return undefined
  return Math.round(Number(quantity) * unit)
}
