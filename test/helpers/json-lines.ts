/**
 * Splits a child's stdout into JSON lines as chunks arrive (`guts … --json` prints one event per
 * line): `feed` takes each chunk, `on` sees each parsed line, `all` keeps them. Non-JSON lines are skipped.
 */
export function jsonLines<T>(on: (line: T, all: T[]) => void = () => undefined): { all: T[]; feed: (chunk: string) => void } {
  const all: T[] = []
  let buffer = ''
  const feed = (chunk: string) => {
    buffer += chunk
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (!line.startsWith('{')) continue
      const parsed = JSON.parse(line) as T
      all.push(parsed)
      on(parsed, all)
    }
  }
  return { all, feed }
}
