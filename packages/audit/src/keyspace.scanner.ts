import type { RedisConnection } from '@tidykv/core';
import { validateScanOptions, type ScanOptions } from './audit.options.js';
import { foldPatterns, patternOf } from './key-pattern.classifier.js';
import { saveOnError, walkKeyspace } from './internal/keyspace-walker.js';
import { isNoScript, queueInspect, supportsReadOnlyScripts } from './internal/inspect-script.js';
import { keyHash, openRun } from './internal/run-context.js';

/** TTL buckets of {@link PatternStats.ttl}. `none` is a key without TTL: the usual leak. */
export const TTL_BUCKETS = ['none', '<1m', '1m-1h', '1h-1d', '1d-7d', '7d-30d', '>30d'] as const;

/** One bucket of {@link TTL_BUCKETS}. */
export type TtlBucket = (typeof TTL_BUCKETS)[number];

/** What {@link scanKeyspace} learnt about one key pattern. */
export interface PatternStats {
  /** The pattern, e.g. `user:<num>:profile`. */
  pattern: string;
  /** Keys seen. */
  keys: number;
  /** Keys with no TTL (PTTL -1). */
  keysWithoutTtl: number;
  /** Keys per Redis type. */
  types: Record<string, number>;
  /** Estimated bytes (MEMORY USAGE of the measured keys, extrapolated to all keys of the pattern; exact at sample rate 1). */
  memoryBytes: number;
  /** Keys measured with MEMORY USAGE. */
  memorySampledKeys: number;
  /** Bytes of the measured keys. */
  memorySampledBytes: number;
  /** Keys per TTL bucket. */
  ttl: Record<TtlBucket, number>;
  /** Largest measured keys, largest first. */
  largest: { key: string; bytes: number }[];
}

/** Result of {@link scanKeyspace}. */
export interface ScanReport {
  command: 'scan';
  /** `host:port` of every node walked. */
  nodes: string[];
  match: string;
  type?: string;
  memorySampleRate: number;
  /** Keys seen (a key SCAN returns twice, which Redis allows during a rehash, counts twice). */
  keys: number;
  keysWithoutTtl: number;
  /** Estimated bytes of all keys. */
  memoryBytes: number;
  /** Keys that vanished between SCAN and TYPE (expired or deleted meanwhile). */
  vanished: number;
  /** Patterns, largest memory first. */
  patterns: PatternStats[];
  /** Wall time of this invocation in ms (not counting earlier runs resumed from a checkpoint). */
  durationMs: number;
  /** True when the run stopped early (signal); resume with the same checkpoint. */
  interrupted: boolean;
}

interface ScanState {
  patterns: [string, PatternStats][];
  vanished: number;
}

interface Seen {
  key: string;
  type: string;
  pttl: number;
  bytes: number | undefined;
}

function bucketOf(pttl: number): TtlBucket {
  if (pttl < 0) return 'none';
  if (pttl < 60_000) return '<1m';
  if (pttl < 3_600_000) return '1m-1h';
  if (pttl < 86_400_000) return '1h-1d';
  if (pttl < 604_800_000) return '1d-7d';
  if (pttl < 2_592_000_000) return '7d-30d';
  return '>30d';
}

function emptyStats(pattern: string): PatternStats {
  return {
    pattern,
    keys: 0,
    keysWithoutTtl: 0,
    types: {},
    memoryBytes: 0,
    memorySampledKeys: 0,
    memorySampledBytes: 0,
    ttl: Object.fromEntries(TTL_BUCKETS.map((b) => [b, 0])) as Record<TtlBucket, number>,
    largest: [],
  };
}

function pushLargest(list: { key: string; bytes: number }[], key: string, bytes: number, max: number): void {
  if (list.length >= max && bytes <= list[list.length - 1].bytes) return;
  let i = list.length;
  while (i > 0 && list[i - 1].bytes < bytes) i--;
  list.splice(i, 0, { key, bytes });
  if (list.length > max) list.pop();
}

function mergeStats(into: PatternStats, from: PatternStats, max: number): void {
  into.keys += from.keys;
  into.keysWithoutTtl += from.keysWithoutTtl;
  for (const [t, n] of Object.entries(from.types)) into.types[t] = (into.types[t] ?? 0) + n;
  into.memorySampledKeys += from.memorySampledKeys;
  into.memorySampledBytes += from.memorySampledBytes;
  for (const b of TTL_BUCKETS) into.ttl[b] += from.ttl[b];
  for (const l of from.largest) pushLargest(into.largest, l.key, l.bytes, max);
}

/**
 * Walks the keyspace with SCAN (every master of a Cluster, or replicas with `replicas`) and
 * groups keys by pattern, with counts, TTL-less keys, types, TTL distribution, sampled memory and
 * largest keys. Sends only read commands: SCAN, TYPE, PTTL, MEMORY USAGE, DBSIZE, INFO and EVALSHA_RO/EVAL_RO.
 *
 * TYPE and PTTL of a SCAN batch go out as one read-only script call (EVALSHA_RO, standalone Redis
 * >= 7) or pipelined (Cluster), with several batches in flight per node, so a million keys take
 * seconds. Resumable from `checkpoint`; stops after the current batch when
 * `signal` aborts.
 */
export async function scanKeyspace(conn: RedisConnection, options: ScanOptions = {}): Promise<ScanReport> {
  const o = validateScanOptions(options);
  const started = performance.now();
  const fingerprint = JSON.stringify({ match: o.match, type: o.type ?? null, count: o.count, rate: o.memorySampleRate });
  const run = await openRun<ScanState>(conn, 'scan', fingerprint, o);
  const patterns = new Map<string, PatternStats>(run.saved?.state.patterns ?? []);
  let vanished = run.saved?.state.vanished ?? 0;
  let keysSeen = [...patterns.values()].reduce((n, p) => n + p.keys, 0) + vanished;
  const threshold = o.memorySampleRate >= 1 ? 0x1_0000_0000 : Math.floor(o.memorySampleRate * 0x1_0000_0000);
  const state = (): ScanState => ({ patterns: [...patterns], vanished });

  try {
    // One read-only script call per batch on standalone Redis >= 7; a Cluster batch spans slots, so
    // there (and on older servers) TYPE and PTTL are pipelined per key.
    const useScript = new Map<string, boolean>();
    for (const n of run.nodes.nodes) useScript.set(n.id, !conn.isCluster && (await conn.run('info', () => supportsReadOnlyScripts(n.client))));
    const { interrupted } = await saveOnError(run.checkpoint, run.cursors, () => state(), () =>
      walkKeyspace<Seen[]>(
        run.nodes.nodes,
        run.cursors,
        { match: o.match, type: o.type, count: o.count, inflight: o.inflight, limiter: run.limiter, signal: o.signal, guard: (op, fn) => conn.run(op, fn) },
        {
          async process(node, keys) {
            if (keys.length === 0) return [];
            const sampled = keys.map((k) => threshold > 0 && keyHash(k) < threshold);
            const batched = useScript.get(node.id) === true;
            const send = async (cached: boolean) => {
              const p = node.client.pipeline();
              if (batched) queueInspect(p, keys, cached);
              else {
                for (const k of keys) {
                  if (!o.type) p.type(k);
                  p.pttl(k);
                }
              }
              // MEMORY USAGE replies come last, in key order, after the inspection replies.
              for (let i = 0; i < keys.length; i++) if (sampled[i]) p.call('MEMORY', 'USAGE', keys[i], 'SAMPLES', o.memorySamples);
              return (await conn.run('scan batch', () => p.exec())) ?? [];
            };
            let replies = await send(true);
            if (batched && isNoScript(replies[0]?.[0])) replies = await send(false);
            const out: Seen[] = [];
            let r = 0;
            if (batched) {
              const [err, flat] = replies[r++] as [Error | null, (string | number)[]];
              if (err) throw err;
              for (let i = 0; i < keys.length; i++) out.push({ key: keys[i], type: o.type ?? (flat[2 * i] as string), pttl: flat[2 * i + 1] as number, bytes: undefined });
            } else {
              for (let i = 0; i < keys.length; i++) {
                const type = o.type ? o.type : (replies[r++][1] as string);
                const pttlReply = replies[r++];
                if (pttlReply[0]) throw pttlReply[0];
                out.push({ key: keys[i], type, pttl: pttlReply[1] as number, bytes: undefined });
              }
            }
            for (let i = 0; i < keys.length; i++) {
              if (sampled[i]) out[i].bytes = (replies[r++][1] as number | null) ?? undefined;
            }
            if (batched && o.type) {
              // The script reports the real type; a key whose type changed since SCAN filtered it is skipped.
              const flat = replies[0][1] as (string | number)[];
              for (let i = 0; i < keys.length; i++) if (flat[2 * i] !== o.type) out[i].type = 'none';
            }
            return out;
          },
          merge(_node, seen) {
            for (const s of seen) {
              keysSeen++;
              if (s.pttl === -2 || s.type === 'none') {
                vanished++;
                continue;
              }
              const pattern = patternOf(s.key);
              let st = patterns.get(pattern);
              if (!st) patterns.set(pattern, (st = emptyStats(pattern)));
              st.keys++;
              if (s.pttl === -1) st.keysWithoutTtl++;
              st.types[s.type] = (st.types[s.type] ?? 0) + 1;
              st.ttl[bucketOf(s.pttl)]++;
              if (s.bytes !== undefined) {
                st.memorySampledKeys++;
                st.memorySampledBytes += s.bytes;
                pushLargest(st.largest, s.key, s.bytes, o.largestKeys);
              }
            }
          },
          async committed() {
            await run.checkpoint?.save(run.cursors, state(), 1000);
            o.onProgress?.({ keysSeen, keysTotal: run.keysTotal });
          },
        },
      ),
    );
    if (run.checkpoint) {
      if (interrupted) await run.checkpoint.save(run.cursors, state());
      else await run.checkpoint.remove();
    }
    const folded = foldPatterns(patterns, o.foldThreshold, (into, from) => mergeStats(into, from, o.largestKeys));
    const list = [...folded].map(([pattern, st]) => {
      st.pattern = pattern;
      st.memoryBytes = st.memorySampledKeys === 0 ? 0 : Math.round((st.memorySampledBytes * st.keys) / st.memorySampledKeys);
      return st;
    });
    list.sort((a, b) => b.memoryBytes - a.memoryBytes || b.keys - a.keys || a.pattern.localeCompare(b.pattern));
    return {
      command: 'scan',
      nodes: run.nodes.nodes.map((n) => n.id),
      match: o.match,
      ...(o.type ? { type: o.type } : {}),
      memorySampleRate: o.memorySampleRate,
      keys: list.reduce((n, p) => n + p.keys, 0),
      keysWithoutTtl: list.reduce((n, p) => n + p.keysWithoutTtl, 0),
      memoryBytes: list.reduce((n, p) => n + p.memoryBytes, 0),
      vanished,
      patterns: list,
      durationMs: Math.round(performance.now() - started),
      interrupted,
    };
  } finally {
    await run.nodes.close();
  }
}
