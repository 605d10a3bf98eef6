import type { Redis } from 'ioredis';
import { TidyKvScript, type RedisConnection } from '@tidykv/core';
import { inspectKeys as inspectKeysSource, scanInspect as scanInspectSource } from '../lua/scripts.generated.js';
import type { ScanNode } from './nodes.js';

/** What {@link inspectKeys} learnt about one key. */
export interface InspectedKey {
  key: string;
  /** `string`, `hash`, ... or `none` when the key vanished since SCAN returned it. */
  type: string;
  /** PTTL in ms: >= 0, -1 for no TTL, -2 when the key vanished. */
  pttl: number;
  /** STRLEN of a string, element count of a collection (HLEN, SCARD, ZCARD, LLEN, XLEN); only when asked for. */
  length?: number;
}

/** The keys of one inspection call and what it cost the server. */
export interface InspectResult {
  keys: InspectedKey[];
  /**
   * Microseconds the server spent in the script (its own TIME readings), or the call's round trip
   * seen from here when the ACL user may not run TIME (an upper bound); undefined when pipelined.
   */
  serverUs?: number;
}

/** How to inspect: one read-only script call, or pipelined single commands (Cluster, Redis < 7). */
export interface InspectHow {
  script: boolean;
  /** Also read each key's length (the cheap size read that decides which keys get MEMORY USAGE). */
  lengths: boolean;
}

/**
 * The inspection script, run through core's toolchain: `runReadOnly` sends EVALSHA_RO (read-only
 * by contract, so replicas and read-only ACL users run it) and retries once as EVAL_RO on NOSCRIPT.
 */
const inspectScript = new TidyKvScript<{ keys: readonly string[]; lengths: boolean }, (string | number)[]>(inspectKeysSource, 'audit', ({ keys, lengths }) => ({
  keys,
  args: [lengths ? '1' : '0'],
}));

const LENGTH_COMMAND: Record<string, string> = { string: 'STRLEN', hash: 'HLEN', set: 'SCARD', zset: 'ZCARD', list: 'LLEN', stream: 'XLEN' };

/**
 * True when `client` accepts EVAL_RO (Redis >= 7.0). The scanner then asks for TYPE and PTTL of a
 * whole batch in one script call, which costs the client a fraction of 2 commands per key.
 */
export async function supportsReadOnlyScripts(client: Redis): Promise<boolean> {
  const info = await client.info('server');
  const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
  return major >= 7;
}

/**
 * TYPE and PTTL (and with `how.lengths` the length) of every key of `keys`, all on `node`: the one
 * inspection path of `scan`, `orphans` and `fix`. With `how.script` it is one EVALSHA_RO call,
 * whose cost the caller keeps within its blocking budget by the number of keys it passes; otherwise
 * the commands are pipelined (each O(1)), the lengths in a second round trip since they depend on
 * the type.
 */
export async function inspectKeys(conn: RedisConnection, node: ScanNode, keys: readonly string[], how: InspectHow): Promise<InspectResult> {
  if (keys.length === 0) return { keys: [] };
  if (how.script) {
    const sent = performance.now();
    const flat = await conn.run('inspect', () => inspectScript.runReadOnly(node.client, { keys, lengths: how.lengths }));
    const roundTripUs = (performance.now() - sent) * 1000;
    const stride = how.lengths ? 3 : 2;
    const out = keys.map((key, i) => {
      const k: InspectedKey = { key, type: flat[stride * i] as string, pttl: flat[stride * i + 1] as number };
      if (how.lengths) k.length = flat[stride * i + 2] as number;
      return k;
    });
    const timed = flat[stride * keys.length] as number;
    return { keys: out, serverUs: timed >= 0 ? timed : roundTripUs };
  }
  const p = node.client.pipeline();
  for (const k of keys) p.type(k).pttl(k);
  const r = (await conn.run('inspect', () => p.exec())) ?? [];
  const out = keys.map((key, i): InspectedKey => {
    const [typeErr, type] = r[2 * i];
    const [pttlErr, pttl] = r[2 * i + 1];
    if (typeErr) throw typeErr;
    if (pttlErr) throw pttlErr;
    return { key, type: type as string, pttl: pttl as number };
  });
  if (how.lengths) {
    const q = node.client.pipeline();
    const asked: InspectedKey[] = [];
    for (const k of out) {
      const cmd = LENGTH_COMMAND[k.type];
      k.length = 0;
      if (cmd) {
        q.call(cmd, k.key);
        asked.push(k);
      }
    }
    if (asked.length > 0) {
      const lr = (await conn.run('inspect', () => q.exec())) ?? [];
      // A key whose type changed in between answers WRONGTYPE: its length stays 0 (sampled like a small key).
      asked.forEach((k, i) => (k.length = lr[i][0] ? 0 : (lr[i][1] as number)));
    }
  }
  return { keys: out };
}

/** One SCAN step with what {@link scanInspectStep} learnt about each key it returned. */
export interface ScanInspectStep extends InspectResult {
  /** SCAN's next cursor: "0" when the walk is complete. */
  next: string;
  /** Microseconds the step ran on the server (its own TIME readings), or the round trip seen from here. */
  serverUs: number;
}

/** What one {@link scanInspectStep} call scans. */
export interface ScanStepArgs {
  cursor: string;
  count: number;
  /** SCAN MATCH glob; `*` sends no MATCH. */
  match: string;
  /** SCAN TYPE filter. */
  type?: string;
  lengths: boolean;
}

const scanInspectScript = new TidyKvScript<ScanStepArgs, (string | number)[]>(scanInspectSource, 'audit', (a) => ({
  keys: [],
  args: [a.cursor, a.count, a.match === '*' ? '' : a.match, a.type ?? '', a.lengths ? '1' : '0'],
}));

/**
 * One SCAN step and the TYPE, PTTL (and with `lengths` the length) of every key it returned, in
 * one EVALSHA_RO that times itself: the walk of a standalone server (Redis >= 7.0) is this call
 * repeated, one round trip per batch, each sized by the caller to its blocking budget. Standalone
 * only: the script takes its keys from SCAN, not from KEYS.
 */
export async function scanInspectStep(conn: RedisConnection, node: ScanNode, step: ScanStepArgs): Promise<ScanInspectStep> {
  const sent = performance.now();
  const flat = await conn.run('scan', () => scanInspectScript.runReadOnly(node.client, step));
  const roundTripUs = (performance.now() - sent) * 1000;
  const stride = step.lengths ? 4 : 3;
  const keys: InspectedKey[] = [];
  for (let i = 2; i + stride - 1 < flat.length; i += stride) {
    const k: InspectedKey = { key: String(flat[i]), type: flat[i + 1] as string, pttl: flat[i + 2] as number };
    if (step.lengths) k.length = flat[i + 3] as number;
    keys.push(k);
  }
  const timed = flat[1] as number;
  return { next: String(flat[0]), keys, serverUs: timed >= 0 ? timed : roundTripUs };
}
