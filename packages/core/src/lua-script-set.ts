import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { TidyKvConfigError } from './tidykv.errors.js';

/** One Lua script read from `<verbNoun>-<numKeys>.lua`. */
export interface LuaScript {
  /** `verbNoun` from the file name, e.g. `saveSessionDelta`. */
  readonly name: string;
  /** `numKeys` from the file name: how many leading arguments are KEYS. */
  readonly numberOfKeys: number;
  /** The source, with `-- @include <file>` lines replaced by the included file. */
  readonly lua: string;
  /** The ioredis command name it is registered under, e.g. `tkv_session_saveSessionDelta`. */
  readonly command: string;
}

const FILE = /^([a-z][A-Za-z0-9]*)-(\d+)\.lua$/;
const INCLUDE = /^--\s*@include\s+(\S+)\s*$/gm;

/**
 * Reads every `<verbNoun>-<numKeys>.lua` in `dir` (a `file:` URL) and checks that each opens with
 * its header comment. `namespace` keeps command names of different packages apart, because the
 * commands are defined on clients the app may share. Shared fragments live in `dir/includes/` and
 * are pulled in with a `-- @include includes/<file>.lua` line.
 */
export function loadLuaScripts(dir: URL, namespace: string): Map<string, LuaScript> {
  const path = fileURLToPath(dir);
  const scripts = new Map<string, LuaScript>();
  for (const file of readdirSync(path).sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const src = readFileSync(new URL(file, dir), 'utf8');
    if (!src.startsWith('--')) {
      // The header is the script's contract (KEYS, ARGV, replies); refuse to ship one without it.
      throw new Error(`Lua script ${file} must open with a header comment documenting KEYS, ARGV and replies.`);
    }
    const lua = src.replace(INCLUDE, (_, inc: string) => readFileSync(new URL(inc, dir), 'utf8'));
    scripts.set(m[1], { name: m[1], numberOfKeys: Number(m[2]), lua, command: `tkv_${namespace}_${m[1]}` });
  }
  return scripts;
}

type Target = Redis | Cluster | ChainableCommander;

/**
 * The scripts of one package, registered on clients through ioredis `defineCommand`: ioredis sends
 * EVALSHA and falls back to EVAL on NOSCRIPT, so scripts survive SCRIPT FLUSH, restarts and
 * failovers with no app restart.
 */
export class LuaScriptSet<Name extends string = string> {
  private readonly scripts: Map<string, LuaScript>;

  /** @param dir - folder of the `.lua` files, as a `file:` URL. */
  constructor(dir: URL, namespace: string) {
    this.scripts = loadLuaScripts(dir, namespace);
  }

  /** Names of the loaded scripts. */
  get names(): string[] {
    return [...this.scripts.keys()];
  }

  /** The script called `name`; throws when there is no such file. */
  get(name: Name): LuaScript {
    const s = this.scripts.get(name);
    if (!s) throw new TidyKvConfigError('lua', `No Lua script named ${name}; known: ${this.names.join(', ')}.`);
    return s;
  }

  /** Defines every script as a command on `client`. Idempotent, so several modules may share one client. */
  attach(client: Redis | Cluster): void {
    for (const s of this.scripts.values()) {
      if (typeof (client as unknown as Record<string, unknown>)[s.command] === 'function') continue;
      client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  /**
   * Runs script `name` on a client (after {@link attach}) or queues it on a pipeline made from one.
   * The number of `keys` must match the file name.
   */
  run<T = unknown>(target: Target, name: Name, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    const s = this.get(name);
    if (keys.length !== s.numberOfKeys) {
      throw new Error(`Lua script ${name} takes ${s.numberOfKeys} keys, got ${keys.length}.`);
    }
    const fn = (target as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[s.command];
    if (typeof fn !== 'function') throw new Error(`Lua script ${name} is not attached to this client: call attach() first.`);
    return fn.call(target, ...keys, ...args);
  }
}
