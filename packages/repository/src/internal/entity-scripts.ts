import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { TidyKvScriptError } from '@tidykv/core';
import * as sources from '../lua/scripts.generated.js';

/** The scripts in `src/lua/`; `-n` files take a variable number of keys. */
export type EntityScriptName = 'saveEntity' | 'updateEntity' | 'deleteEntity' | 'setIndexEntry' | 'findIndex';

interface LoadedScript {
  readonly command: string;
  /** Fixed number of keys, or undefined for `-n` scripts (numkeys is then sent on each call). */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
}

const scripts = new Map<string, LoadedScript>(
  Object.values(sources).map((s) => [s.name, { command: `tkv_repo_${s.name}`, numberOfKeys: s.keys === 'n' ? undefined : s.keys, lua: s.lua }]),
);

function get(name: EntityScriptName): LoadedScript {
  const s = scripts.get(name);
  if (!s) throw new Error(`Lua script ${name} is missing.`);
  return s;
}

/** Registers every repository script on `client` with `defineCommand`. Idempotent per client. */
export function attachEntityScripts(client: Redis | Cluster): void {
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
