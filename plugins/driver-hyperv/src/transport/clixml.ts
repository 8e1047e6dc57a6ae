/**
 * Windows PowerShell writes its error, warning and progress streams to a redirected stderr as
 * CLIXML (`#< CLIXML` then `<Objs …><S S="Error">text_x000D__x000A_</S>…</Objs>`) when it runs
 * `-EncodedCommand` without a console. This turns that back into the lines a console would show.
 */
export interface ClixmlStreams {
  error: string[]
  warning: string[]
  /** Anything that was not CLIXML (cmd.exe's messages, a crash), as text. */
  plain: string
}

export function parseClixml(stderr: string): ClixmlStreams {
  const error: string[] = []
  const warning: string[] = []
  const plain: string[] = []
  const text = stderr.replace(/^\uFEFF/, '')
  let rest = text
  for (;;) {
    const start = rest.indexOf('#< CLIXML')
    if (start < 0) break
    plain.push(rest.slice(0, start))
    const objsEnd = rest.indexOf('</Objs>', start)
    const block = objsEnd < 0 ? rest.slice(start) : rest.slice(start, objsEnd + 7)
    for (const m of block.matchAll(/<S S="(\w+)">([\s\S]*?)<\/S>/g)) {
      const value = decodeClixmlString(m[2]!)
      if (m[1] === 'Error') error.push(value)
      else if (m[1] === 'warning' || m[1] === 'Warning') warning.push(value)
    }
    rest = objsEnd < 0 ? '' : rest.slice(objsEnd + 7)
  }
  plain.push(rest)
  return { error: joinLines(error), warning: joinLines(warning), plain: plain.join('').trim() }
}

/** `_x000D__x000A_` escapes and XML entities, as PowerShell's serializer writes them. */
export function decodeClixmlString(s: string): string {
  return s
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&')
}

/** An error record arrives as several <S> pieces (one per console line); rebuild the lines. */
function joinLines(pieces: string[]): string[] {
  return pieces
    .join('')
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
}
