/**
 * Shell-style glob on a whole VM name: `*` any run, `?` one character, `[abc]`/`[!a-z]` classes.
 * Everything else is literal (VM names often contain `.` and `+`).
 */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) {
        out += '\\['
        continue
      }
      let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\')
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`
      out += `[${cls}]`
      i = end
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`, 's')
}
