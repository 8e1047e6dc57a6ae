/** Human sizes and rates for progress lines: binary units, as disk sizes are. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  if (seconds < 60) return `${Math.round(seconds)}s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/** `[#####-----] 53% 34 MiB/64 MiB 154 MiB/s ETA 12s` */
export function progressBar(done: number, total: number, bytesPerSecond: number, width = 20): string {
  const f = total > 0 ? Math.min(1, done / total) : 1
  const filled = Math.round(f * width)
  const eta = bytesPerSecond > 0 ? (total - done) / bytesPerSecond : Number.NaN
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% ${bytes(done)}/${bytes(total)} ${bytes(bytesPerSecond)}/s ETA ${duration(eta)}`
}

/** Tracks one disk's rate over a sliding window, so the ETA follows the current speed. */
export class RateMeter {
  private samples: { t: number; b: number }[] = []
  add(bytesDone: number, t = Date.now()): number {
    this.samples.push({ t, b: bytesDone })
    while (this.samples.length > 2 && t - this.samples[0]!.t > 5000) this.samples.shift()
    const first = this.samples[0]!
    const dt = (t - first.t) / 1000
    return dt > 0 ? (bytesDone - first.b) / dt : 0
  }
}
