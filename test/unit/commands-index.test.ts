import { readdirSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands-index.js'

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'commands')

/** The ids oclif's pattern discovery derives from src/commands (same globs: no .d.ts / tests). */
function commandFiles(dir: string): { id: string; path: string }[] {
  const found: { id: string; path: string }[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      found.push(...commandFiles(path))
      continue
    }
    if (!/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry.name) || /\.(d|test|spec)\.[cm]?[jt]sx?$/.test(entry.name)) continue
    const parts = relative(commandsDir, path)
      .replace(/\.[^.]+$/, '')
      .split(sep)
    if (parts[parts.length - 1] === 'index') parts.pop()
    found.push({ id: parts.join(':'), path })
  }
  return found
}

describe('COMMANDS (the explicit command list used by the single binary)', () => {
  it('has an entry for every file in src/commands, and nothing else', () => {
    const onDisk = commandFiles(commandsDir)
      .map((f) => f.id)
      .sort()
    expect(onDisk.length).toBeGreaterThan(0)
    expect(Object.keys(COMMANDS).sort()).toEqual(onDisk)
  })

  it('maps each id to a command class', () => {
    for (const [id, cmd] of Object.entries(COMMANDS)) {
      expect(typeof cmd, id).toBe('function')
      expect(typeof cmd.prototype.run, id).toBe('function')
    }
  })

  it("maps each id to that file's default export", async () => {
    for (const { id, path } of commandFiles(commandsDir)) {
      const mod = (await import(pathToFileURL(path).href)) as { default: unknown }
      expect(COMMANDS[id], id).toBe(mod.default)
    }
  })
})
