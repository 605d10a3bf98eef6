import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { TidyKvScriptError } from '@tidykv/core';

/** The scripts in `src/lua/`; `-n` files take a variable number of keys. */
export type EntityScriptName = 'saveEntity' | 'updateEntity' | 'deleteEntity' | 'setIndexEntry' | 'findIndex';

interface LoadedScript {
  readonly command: string;
  /** Fixed number of keys, or undefined for `-n` scripts (numkeys is then sent on each call). */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
}

// `-n` extends core's `<verbNoun>-<numKeys>.lua` convention: the entity scripts touch the entity
// hash plus however many index keys the entity class declares, which only the caller knows.
const FILE = /^([a-z][A-Za-z0-9]*)-(\d+|n)\.lua$/;
const INCLUDE = /^--\s*@include\s+(\S+)\s*$/gm;

// Resolves to src/lua from both src/internal and dist/internal, so the build needs no copy step.
const LUA_DIR = new URL('../../src/lua/', import.meta.url);

function load(): Map<string, LoadedScript> {
  const out = new Map<string, LoadedScript>();
  for (const file of readdirSync(fileURLToPath(LUA_DIR)).sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const src = readFileSync(new URL(file, LUA_DIR), 'utf8');
    if (!src.startsWith('--')) throw new Error(`Lua script ${file} must open with its header comment.`);
    const lua = src.replace(INCLUDE, (_, inc: string) => readFileSync(new URL(inc, LUA_DIR), 'utf8'));
    out.set(m[1], { command: `tkv_repo_${m[1]}`, numberOfKeys: m[2] === 'n' ? undefined : Number(m[2]), lua });
  }
  return out;
}

let scripts: Map<string, LoadedScript> | undefined;

function get(name: EntityScriptName): LoadedScript {
  scripts ??= load();
  const s = scripts.get(name);
  if (!s) throw new Error(`Lua script ${name} is missing from ${fileURLToPath(LUA_DIR)}.`);
  return s;
}

/** Registers every repository script on `client` with `defineCommand`. Idempotent per client. */
export function attachEntityScripts(client: Redis | Cluster): void {
  scripts ??= load();
  for (const s of scripts.values()) {
    if (typeof (client as unknown as Record<string, unknown>)[s.command] === 'function') continue;
    client.defineCommand(s.command, s.numberOfKeys === undefined ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

type Target = Redis | Cluster | ChainableCommander;

/** Runs (or queues on a pipeline) script `name`; ioredis sends EVALSHA and falls back to EVAL. */
export function runEntityScript<T>(target: Target, name: EntityScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
  const s = get(name);
  if (s.numberOfKeys !== undefined && keys.length !== s.numberOfKeys) {
    throw new Error(`Lua script ${name} takes ${s.numberOfKeys} keys, got ${keys.length}.`);
  }
  const fn = (target as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[s.command];
  if (typeof fn !== 'function') throw new Error(`Lua script ${name} is not attached to this client.`);
  return s.numberOfKeys === undefined ? fn.call(target, keys.length, ...keys, ...args) : fn.call(target, ...keys, ...args);
}

/** What an entity script (saveEntity, updateEntity, deleteEntity) reported. */
export type EntityWriteOutcome =
  | { readonly kind: 'done'; readonly expiresAt: number | null; readonly olds: readonly string[] }
  | { readonly kind: 'missing' }
  | { readonly kind: 'stale'; readonly olds: readonly string[] };

/**
 * The one place where entity script replies, including their negative codes, are interpreted.
 * `-1` is not an error for the caller: it means "the stored indexed values differ from the ones
 * you named keys for; retry with these", which {@link EntityRepository} does.
 */
export function interpretEntityReply(script: EntityScriptName, reply: unknown): EntityWriteOutcome {
  if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
    const olds = (reply.slice(2) as unknown[]).map((v) => (typeof v === 'string' ? v : ''));
    switch (reply[0]) {
      case 1:
        return { kind: 'done', expiresAt: reply[1] < 0 ? null : reply[1], olds };
      case 0:
        return { kind: 'missing' };
      case -1:
        return { kind: 'stale', olds };
    }
  }
  throw new TidyKvScriptError(script, reply);
}
