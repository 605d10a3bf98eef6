import type { RedisConnection } from '@tidykv/core';
import { validateScanOptions, type ResolvedScanOptions, type ScanOptions } from './audit.options.js';
import { OTHER_PATTERN, PatternFolder, patternOf, patternToGlob, type PatternFolderState } from './key-pattern.classifier.js';
import { BlockBudget, ScanCountControl } from './internal/block-budget.js';
import { inspectKeys, scanInspectStep, supportsReadOnlyScripts, type InspectedKey } from './internal/inspect-script.js';
import { saveOnError, walkKeyspace } from './internal/keyspace-walker.js';
import type { ScanNode } from './internal/nodes.js';
import { keyHash, openRun } from './internal/run-context.js';

/** TTL buckets of {@link PatternStats.ttl}. `none` is a key without TTL: the usual leak. */
export const TTL_BUCKETS = ['none', '<1m', '1m-1h', '1h-1d', '1d-7d', '7d-30d', '>30d'] as const;

/** One bucket of {@link TTL_BUCKETS}. */
export type TtlBucket = (typeof TTL_BUCKETS)[number];

/** The share of the blocking budget each of the scan's calls aims at (see its use for the trade-off). */
const CALL_SHARE = 0.15;

/** z of a two-sided 95% normal interval: the error bounds are 95% CLT bounds. */
const Z95 = 1.96;

/** What {@link scanKeyspace} learnt about one key pattern. */
export interface PatternStats {
  /** The pattern, e.g. `user:<num>:profile` (`<other>` holds the keys of patterns beyond `maxPatterns`). */
  pattern: string;
  /** The SCAN MATCH glob of the pattern, e.g. `user:*:profile`, for `--match`. */
  glob: string;
  /** Keys seen. */
  keys: number;
  /** Keys with no TTL (PTTL -1). */
  keysWithoutTtl: number;
  /** Keys per Redis type. */
  types: Record<string, number>;
  /**
   * Estimated bytes: the keys measured because they may be big, exactly, plus the other keys
   * extrapolated from the ones measured among them (exact when every key is measured).
   */
  memoryBytes: number;
  /**
   * Half-width of a 95% interval around {@link memoryBytes}: 1.96 standard errors of the
   * extrapolated part (sample variance of the measured small keys, with the finite-population
   * correction). 0 when every key was measured. Indicative only with few measured keys.
   */
  memoryErrorBytes: number;
  /** Estimated bytes in keys without TTL (same estimator, over the keys without TTL). */
  memoryWithoutTtlBytes: number;
  /** Keys measured with MEMORY USAGE (the big ones and the sampled ones). */
  memorySampledKeys: number;
  /** Bytes of the measured keys. */
  memorySampledBytes: number;
  /** Keys measured because their size read marked them as possibly big (counted as themselves, never extrapolated). */
  memoryExactKeys: number;
  /** Keys per TTL bucket. */
  ttl: Record<TtlBucket, number>;
  /** Largest measured keys, largest first. */
  largest: { key: string; bytes: number }[];
}

/** One entry of the top-keys lists. */
export interface TopKey {
  key: string;
  type: string;
  /** PTTL in ms, -1 for none. */
  pttl: number;
  /** The pattern the key is counted under. */
  pattern: string;
  /** MEMORY USAGE, when measured (always for {@link ScanReport.topKeys}.byMemory). */
  bytes?: number;
  /** STRLEN of a string, element count of a collection. */
  length: number;
  /** `host:port` of the node holding it. */
  node: string;
}

/** Result of {@link scanKeyspace}. */
export interface ScanReport {
  command: 'scan';
  /** `host:port` of every node walked. */
  nodes: string[];
  match: string;
  type?: string;
  memorySampleRate: number;
  /** Keys always measured above this size read (bytes). */
  measureAbove: number;
  /** The blocking budget per command (ms). */
  maxBlockMs: number;
  /** Keys seen (a key SCAN returns twice, which Redis allows during a rehash, counts twice). */
  keys: number;
  keysWithoutTtl: number;
  /** Estimated bytes of all keys. */
  memoryBytes: number;
  /** 95% bound of {@link memoryBytes}: the pattern bounds combined as independent errors. */
  memoryErrorBytes: number;
  /** Estimated bytes in keys without TTL. */
  memoryWithoutTtlBytes: number;
  /** Sum of INFO `used_memory` of the nodes at the end of the scan: what the server uses in all. */
  usedMemoryBytes: number;
  /** Keys that vanished between SCAN and TYPE (expired or deleted meanwhile). */
  vanished: number;
  /** Patterns, largest memory first. */
  patterns: PatternStats[];
  /** True when `maxPatterns` was reached and later patterns were counted under `<other>`. */
  patternsCapped: boolean;
  /** The largest keys: by MEMORY USAGE, and (collections only) by element count. */
  topKeys: { byMemory: TopKey[]; byLength: TopKey[] };
  /** What the blocking budget did: the longest inspection call and SCAN cost per call seen, in µs. */
  blocking: { scriptCalls: number; maxScriptUs: number; keysPerCall: number; maxScanUsPerCall: number; scanCount: number };
  /** Wall time of this invocation in ms (not counting earlier runs resumed from a checkpoint). */
  durationMs: number;
  /** True when the run stopped early (signal); resume with the same checkpoint. */
  interrupted: boolean;
}

/** Running figures of one pattern; {@link PatternStats} is computed from them at the end. */
interface Acc {
  keys: number;
  keysWithoutTtl: number;
  types: Record<string, number>;
  ttl: Record<TtlBucket, number>;
  largest: { key: string; bytes: number }[];
  /** Measured because big: counted as themselves. */
  exactKeys: number;
  exactBytes: number;
  exactNoTtlBytes: number;
  /** Measured by the sample among the other keys: n, sum, sum of squares, sum over keys without TTL. */
  n: number;
  sum: number;
  sumSq: number;
  noTtlSum: number;
  /** Up to two unmeasured small keys, measured at the end if the sample missed the pattern. */
  candidates: { key: string; node: string; noTtl: boolean }[];
}

interface TopEntry {
  key: string;
  type: string;
  pttl: number;
  /** The strict pattern; resolved through the folder when reported. */
  strict: string;
  bytes?: number;
  length: number;
  node: string;
}

interface ScanState {
  patterns: [string, Acc][];
  vanished: number;
  folder: PatternFolderState;
  topMemory: TopEntry[];
  topLength: TopEntry[];
}

interface Seen extends InspectedKey {
  strict: string;
  bytes?: number;
  /** Why it was measured: `exact` (may be big, or may enter the top list), `sample`, or not at all. */
  how?: 'exact' | 'sample';
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

function emptyAcc(): Acc {
  return {
    keys: 0,
    keysWithoutTtl: 0,
    types: {},
    ttl: Object.fromEntries(TTL_BUCKETS.map((b) => [b, 0])) as Record<TtlBucket, number>,
    largest: [],
    exactKeys: 0,
    exactBytes: 0,
    exactNoTtlBytes: 0,
    n: 0,
    sum: 0,
    sumSq: 0,
    noTtlSum: 0,
    candidates: [],
  };
}

function pushLargest(list: { key: string; bytes: number }[], key: string, bytes: number, max: number): void {
  if (list.length >= max && bytes <= list[list.length - 1].bytes) return;
  let i = list.length;
  while (i > 0 && list[i - 1].bytes < bytes) i--;
  list.splice(i, 0, { key, bytes });
  if (list.length > max) list.pop();
}

/** Inserts into a fixed-size list sorted by `score` descending (ties: key order, so runs agree). */
function pushTop(list: TopEntry[], e: TopEntry, score: (e: TopEntry) => number, max: number): void {
  const s = score(e);
  const worse = (a: TopEntry) => score(a) < s || (score(a) === s && a.key > e.key);
  if (list.length >= max && !worse(list[list.length - 1])) return;
  let i = list.length;
  while (i > 0 && worse(list[i - 1])) i--;
  list.splice(i, 0, e);
  if (list.length > max) list.pop();
}

function mergeAcc(into: Acc, from: Acc, max: number): void {
  into.keys += from.keys;
  into.keysWithoutTtl += from.keysWithoutTtl;
  for (const [t, n] of Object.entries(from.types)) into.types[t] = (into.types[t] ?? 0) + n;
  for (const b of TTL_BUCKETS) into.ttl[b] += from.ttl[b];
  for (const l of from.largest) pushLargest(into.largest, l.key, l.bytes, max);
  into.exactKeys += from.exactKeys;
  into.exactBytes += from.exactBytes;
  into.exactNoTtlBytes += from.exactNoTtlBytes;
  into.n += from.n;
  into.sum += from.sum;
  into.sumSq += from.sumSq;
  into.noTtlSum += from.noTtlSum;
  into.candidates = [...into.candidates, ...from.candidates].slice(0, 2);
}

// Typical bytes per element, to turn an element count into a size hint. Deliberately generous: a
// hint too high costs one MEMORY USAGE, a hint too low can hide a big key in the sample.
const BYTES_PER_ELEMENT: Record<string, number> = { hash: 48, set: 24, zset: 40, list: 24, stream: 64 };

/** A cheap guess of a key's MEMORY USAGE from its length read (STRLEN or element count). */
export function sizeHint(type: string, length: number, keyLength: number): number {
  if (type === 'string') return length + keyLength + 64;
  return 64 + keyLength + length * (BYTES_PER_ELEMENT[type] ?? 64);
}

/**
 * The estimate of one pattern: exact part + extrapolated part, with its 95% bound.
 * pop = keys not measured as big; the n measured among them have mean m and variance s²;
 * estimate = exact + pop * m; standard error = pop * sqrt(s² / n * (1 - n / pop)).
 */
function estimate(a: Acc): { bytes: number; error: number; noTtl: number } {
  const pop = a.keys - a.exactKeys;
  if (pop <= 0 || a.n === 0) return { bytes: a.exactBytes, error: 0, noTtl: a.exactNoTtlBytes };
  const mean = a.sum / a.n;
  const bytes = a.exactBytes + pop * mean;
  const noTtl = a.exactNoTtlBytes + (a.noTtlSum * pop) / a.n;
  if (a.n >= pop) return { bytes, error: 0, noTtl };
  // With a single measured key there is no variance to go on: the bound is then the whole
  // extrapolated part (the estimate could be off by as much as it adds).
  if (a.n < 2) return { bytes, error: pop * mean, noTtl };
  const variance = Math.max(0, (a.sumSq - (a.sum * a.sum) / a.n) / (a.n - 1));
  const se = pop * Math.sqrt((variance / a.n) * (1 - a.n / pop));
  return { bytes, error: Z95 * se, noTtl };
}

/**
 * Limits our calls in flight on one node to `depth`. The scan uses 1: the server then runs at most
 * one budget-sized call of ours at a time and is idle between them, so another client's command
 * waits behind at most one. Measured against depth 2 on the bench keyspace, the PING p99 during a
 * scan was lower (3.8-5.5 ms vs 6.6-6.9 ms) at the same wall time, the machine's two cores being
 * the limit either way.
 */
class NodeGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly depth: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.depth) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Walks the keyspace with SCAN (every master of a Cluster, or replicas with `replicas`) and
 * groups keys by pattern as it goes, with counts, TTL-less keys, types, TTL distribution, memory
 * and the largest keys. Sends only read commands: SCAN, TYPE, PTTL, STRLEN/HLEN/SCARD/ZCARD/LLEN/XLEN,
 * MEMORY USAGE, DBSIZE, INFO and EVALSHA_RO/EVAL_RO.
 *
 * Memory: every key's length is read cheaply; keys that may be big (size hint at least
 * `measureAbove`, or above the smallest of the top-keys list) are measured with MEMORY USAGE and
 * counted exactly; the others are measured at `memorySampleRate` (a stable hash of the name) and
 * extrapolated per pattern, with a 95% bound. Every pattern gets at least two measured keys (one
 * if it has one), so no pattern reports 0 B.
 *
 * Impact: on a standalone server (Redis >= 7.0) each batch is one read-only script call that runs
 * SCAN and the reads of its keys and times itself, sized to 15% of `maxBlockMs`; elsewhere
 * (Cluster, Redis < 7) inspection calls are sized the same way and SCAN COUNT follows
 * commandstats. MEMORY USAGE goes out in small pipelines, and a node runs one of our calls at a
 * time. Memory: patterns are folded as the walk goes, lists and histograms are
 * fixed-size, and patterns beyond `maxPatterns` go to `<other>`.
 *
 * Resumable from `checkpoint`; stops after the current batch when `signal` aborts.
 */
export async function scanKeyspace(conn: RedisConnection, options: ScanOptions = {}): Promise<ScanReport> {
  const o = validateScanOptions(options);
  const started = performance.now();
  const fingerprint = JSON.stringify({
    match: o.match,
    type: o.type ?? null,
    count: o.count,
    rate: o.memorySampleRate,
    measureAbove: o.measureAbove,
    topKeys: o.topKeys,
    fold: o.foldThreshold,
    maxPatterns: o.maxPatterns,
  });
  const run = await openRun<ScanState>(conn, 'scan', fingerprint, o);
  const saved = run.saved?.state;
  const accs = new Map<string, Acc>(saved?.patterns ?? []);
  const folder = new PatternFolder(
    o.foldThreshold,
    o.maxPatterns,
    (from, to) => {
      const a = accs.get(from);
      if (!a) return;
      accs.delete(from);
      const b = accs.get(to);
      if (b) mergeAcc(b, a, o.largestKeys);
      else accs.set(to, a);
    },
    saved?.folder,
  );
  const topMemory: TopEntry[] = saved?.topMemory ?? [];
  const topLength: TopEntry[] = saved?.topLength ?? [];
  let vanished = saved?.vanished ?? 0;
  let keysSeen = [...accs.values()].reduce((n, p) => n + p.keys, 0) + vanished;
  const coin = o.memorySampleRate >= 1 ? 0x1_0000_0000 : Math.floor(o.memorySampleRate * 0x1_0000_0000);
  const state = (): ScanState => ({ patterns: [...accs], vanished, folder: folder.state(), topMemory, topLength });
  // 15% of the budget per call: the budget still bounds every call, and another client's command
  // waits behind one of ours for a small part of it. Smaller calls cost wall time instead (each
  // call pays a round trip): on the bench's 1M keys (tool on its own core) calls aimed at 20% gave
  // a PING p99 of 1.66x idle with the scan at 0.41x --memkeys' wall time, at 10% about 1.3x with
  // the scan at about 0.5x.
  const budget = new BlockBudget(o.maxBlockMs, o.count, 5, CALL_SHARE);
  const scanCounts = new Map(run.nodes.nodes.map((n) => [n.id, new ScanCountControl(o.maxBlockMs, o.count)]));
  const gates = new Map(run.nodes.nodes.map((n) => [n.id, new NodeGate(1)]));
  // MEMORY USAGE ... SAMPLES 5 costs a few µs: this many per pipeline stays well inside the budget.
  const measureChunk = Math.max(1, Math.floor((o.maxBlockMs * 1000) / 10));

  const measure = async (node: ScanNode, keys: string[]): Promise<(number | null)[]> => {
    const out: (number | null)[] = [];
    for (let i = 0; i < keys.length; i += measureChunk) {
      const part = keys.slice(i, i + measureChunk);
      const replies = await gates.get(node.id)!.run(() => {
        const p = node.client.pipeline();
        for (const k of part) p.call('MEMORY', 'USAGE', k, 'SAMPLES', o.memorySamples);
        return conn.run('memory usage', () => p.exec());
      });
      for (const [err, v] of replies ?? []) {
        if (err) throw err;
        out.push((v as number | null) ?? null);
      }
    }
    return out;
  };

  /** Measures `list` with MEMORY USAGE; a key that vanished meanwhile (null) stays unmeasured. */
  const measureSeen = async (node: ScanNode, list: Seen[]): Promise<void> => {
    const bytes = await measure(
      node,
      list.map((s) => s.key),
    );
    list.forEach((s, i) => {
      const b = bytes[i];
      if (b === null) s.how = undefined;
      else s.bytes = b;
    });
  };
  /** Decides which of `seen` get MEMORY USAGE (marks them `how`) and returns those; sets each pattern name. */
  const classify = (seen: Seen[]): Seen[] => {
    // Keys that could enter the top list are measured too, once the list is full.
    const topFloor = topMemory.length >= o.topKeys ? (topMemory[topMemory.length - 1].bytes ?? 0) : Number.POSITIVE_INFINITY;
    const toMeasure: Seen[] = [];
    for (const s of seen) {
      s.strict = patternOf(s.key);
      if (o.type && s.type !== o.type) s.type = 'none';
      if (s.type === 'none' || s.pttl === -2) continue;
      const hint = sizeHint(s.type, s.length ?? 0, s.key.length);
      if (hint >= o.measureAbove || hint >= topFloor) s.how = 'exact';
      else if (coin > 0 && keyHash(s.key) < coin) s.how = 'sample';
      if (s.how) toMeasure.push(s);
    }
    return toMeasure;
  };
  /**
   * Counts one key under its pattern (keys, TTL, type, element-count top list); an unmeasured key
   * may be kept as its pattern's candidate for {@link measureUnsampled}. Returns the pattern's
   * figures, or undefined when the key vanished.
   */
  const count = (node: ScanNode, s: Seen): Acc | undefined => {
    keysSeen++;
    if (s.pttl === -2 || s.type === 'none') {
      vanished++;
      return undefined;
    }
    const name = folder.add(s.strict);
    let a = accs.get(name);
    if (!a) accs.set(name, (a = emptyAcc()));
    const noTtl = s.pttl === -1;
    a.keys++;
    if (noTtl) a.keysWithoutTtl++;
    a.types[s.type] = (a.types[s.type] ?? 0) + 1;
    a.ttl[bucketOf(s.pttl)]++;
    if (s.bytes === undefined && a.candidates.length < 2) a.candidates.push({ key: s.key, node: node.id, noTtl });
    if (s.type !== 'string') pushTop(topLength, { key: s.key, type: s.type, pttl: s.pttl, strict: s.strict, length: s.length ?? 0, node: node.id }, (e) => e.length, o.topKeys);
    return a;
  };
  /** Adds the measured bytes of one counted key to its pattern and the top list. */
  const addBytes = (a: Acc, node: ScanNode, s: Seen): void => {
    const b = s.bytes!;
    const noTtl = s.pttl === -1;
    if (s.how === 'exact') {
      a.exactKeys++;
      a.exactBytes += b;
      if (noTtl) a.exactNoTtlBytes += b;
    } else {
      a.n++;
      a.sum += b;
      a.sumSq += b * b;
      if (noTtl) a.noTtlSum += b;
    }
    pushLargest(a.largest, s.key, b, o.largestKeys);
    pushTop(topMemory, { key: s.key, type: s.type, pttl: s.pttl, strict: s.strict, length: s.length ?? 0, node: node.id, bytes: b }, (e) => e.bytes ?? 0, o.topKeys);
  };

  try {
    const useScript = new Map<string, boolean>();
    for (const n of run.nodes.nodes) useScript.set(n.id, !conn.isCluster && (await conn.run('info', () => supportsReadOnlyScripts(n.client))));
    /**
     * The walk of a standalone server that runs scripts: one scanInspect call per batch (SCAN and
     * the reads of its keys, self-timed, sized to the budget), so one round trip per batch and the
     * budget covering SCAN too. Batches are held until about `count` keys (or a MEMORY USAGE
     * pipeline's worth, or a second) have gathered, then measured, counted and committed with the
     * cursor together.
     */
    const stepWalk = async (): Promise<{ interrupted: boolean }> => {
      let interrupted = false;
      for (const node of run.nodes.nodes) {
        const committed = (run.cursors[node.id] ??= { cursor: '0', done: false });
        let cursor = committed.cursor;
        let done = committed.done;
        let held: Seen[] = [];
        let toMeasure: Seen[] = [];
        let heldSince = performance.now();
        const flush = async (): Promise<void> => {
          await measureSeen(node, toMeasure);
          // No await from here to the cursor update: a checkpoint sees both or neither.
          for (const s of held) {
            const a = count(node, s);
            if (a && s.bytes !== undefined) addBytes(a, node, s);
          }
          held = [];
          toMeasure = [];
          committed.cursor = cursor;
          committed.done = done;
          heldSince = performance.now();
          await run.checkpoint?.save(run.cursors, state(), 1000);
          o.onProgress?.({ keysSeen, keysTotal: run.keysTotal });
        };
        // The next step is sent as soon as the previous reply is in, before that reply's keys are
        // classified: the client's work overlaps the server's, while Redis still runs one of our
        // calls at a time (a call leaves only after the previous one answered).
        const send = async (from: string): Promise<{ n: number; step: Awaited<ReturnType<typeof scanInspectStep>> }> => {
          const n = Math.max(1, Math.min(budget.keysPerCall, run.limiter.chunkSize));
          await run.limiter.take(n);
          const step = await gates.get(node.id)!.run(() => scanInspectStep(conn, node, { cursor: from, count: n, match: o.match, type: o.type, lengths: true }));
          return { n, step };
        };
        let inFlight: ReturnType<typeof send> | undefined;
        const launch = (from: string): void => {
          inFlight = send(from);
          // Awaited below; this only keeps a step that fails while a flush runs from being unhandled.
          inFlight.catch(() => undefined);
        };
        if (!done && !o.signal?.aborted) launch(cursor);
        while (!done) {
          if (o.signal?.aborted || !inFlight) {
            interrupted = true;
            break;
          }
          const { n, step } = await inFlight;
          inFlight = undefined;
          budget.record(n, step.serverUs);
          cursor = step.next;
          done = cursor === '0';
          if (!done && !o.signal?.aborted) launch(cursor);
          for (const k of step.keys) held.push(k as Seen);
          for (const m of classify(step.keys as Seen[])) toMeasure.push(m);
          // Commit about every `count` keys (what one SCAN reply commits elsewhere), sooner when a
          // MEMORY USAGE pipeline is full or a second has passed.
          if (held.length >= o.count || toMeasure.length >= measureChunk || performance.now() - heldSince >= 1000) await flush();
        }
        // A step sent before the stop is not counted: its keys are scanned again on resume.
        await inFlight?.catch(() => undefined);
        if (held.length > 0 || committed.cursor !== cursor || committed.done !== done) await flush();
      }
      if (!interrupted) await run.limiter.drain();
      return { interrupted };
    };
    const stepped = !conn.isCluster && run.nodes.nodes.every((n) => useScript.get(n.id) === true);
    const { interrupted } = await saveOnError(run.checkpoint, run.cursors, () => state(), () =>
      stepped ? stepWalk() : walkKeyspace<Seen[]>(
        run.nodes.nodes,
        run.cursors,
        {
          match: o.match,
          type: o.type,
          count: o.count,
          scanCount: (node) => scanCounts.get(node.id)!.count,
          inflight: o.inflight,
          limiter: run.limiter,
          signal: o.signal,
          guard: (op, fn) => conn.run(op, fn),
        },
        {
          async process(node, keys) {
            if (keys.length === 0) return [];
            const script = useScript.get(node.id) === true;
            const gate = gates.get(node.id)!;
            const seen: Seen[] = [];
            for (let i = 0; i < keys.length; ) {
              const part = script ? keys.slice(i, i + budget.keysPerCall) : keys.slice(i);
              i += part.length;
              const r = await gate.run(() => inspectKeys(conn, node, part, { script, lengths: true }));
              if (r.serverUs !== undefined) budget.record(part.length, r.serverUs);
              for (const k of r.keys) seen.push(k as Seen);
            }
            const toMeasure = classify(seen);
            await measureSeen(node, toMeasure);
            return seen;
          },
          merge(node, seen) {
            for (const s of seen) {
              const a = count(node, s);
              if (a && s.bytes !== undefined) addBytes(a, node, s);
            }
          },
          async committed(node) {
            const control = scanCounts.get(node.id)!;
            if (control.due()) {
              const info = await gates.get(node.id)!.run(() => conn.run('info', () => node.client.info('commandstats')));
              control.update(info);
            }
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
    if (!interrupted) await measureUnsampled(accs, run.nodes.nodes, measure, o);
    const usedMemoryBytes = (
      await Promise.all(run.nodes.nodes.map((n) => conn.run('info', () => n.client.info('memory')).then((t) => Number(/used_memory:(\d+)/.exec(t)?.[1] ?? 0))))
    ).reduce((x, y) => x + y, 0);
    return buildReport(o, run.nodes.nodes, accs, folder, topMemory, topLength, {
      vanished,
      usedMemoryBytes,
      interrupted,
      started,
      blocking: {
        scriptCalls: budget.calls,
        maxScriptUs: budget.maxCallUs,
        keysPerCall: budget.keysPerCall,
        // Stepped, SCAN runs inside each script call: its cost is part of the script's.
        maxScanUsPerCall: stepped ? budget.maxCallUs : Math.max(0, ...[...scanCounts.values()].map((c) => Math.round(c.maxUsPerCall))),
        scanCount: stepped ? budget.keysPerCall : Math.min(...[...scanCounts.values()].map((c) => c.count)),
      },
    });
  } finally {
    await run.nodes.close();
  }
}

/**
 * Gives every pattern that the sample missed its measured keys: up to two of its unmeasured keys
 * (kept while walking) are measured now, so no pattern with keys reports 0 B or has no bound.
 */
async function measureUnsampled(
  accs: Map<string, Acc>,
  nodes: ScanNode[],
  measure: (node: ScanNode, keys: string[]) => Promise<(number | null)[]>,
  o: ResolvedScanOptions,
): Promise<void> {
  const byNode = new Map<string, { acc: Acc; c: Acc['candidates'][number] }[]>();
  for (const a of accs.values()) {
    const pop = a.keys - a.exactKeys;
    const need = Math.min(2, pop) - a.n;
    for (const c of a.candidates.slice(0, Math.max(0, need))) {
      let l = byNode.get(c.node);
      if (!l) byNode.set(c.node, (l = []));
      l.push({ acc: a, c });
    }
  }
  for (const node of nodes) {
    const list = byNode.get(node.id) ?? [];
    if (list.length === 0) continue;
    const bytes = await measure(
      node,
      list.map((x) => x.c.key),
    );
    list.forEach(({ acc, c }, i) => {
      const b = bytes[i];
      if (b === null) return;
      acc.n++;
      acc.sum += b;
      acc.sumSq += b * b;
      if (c.noTtl) acc.noTtlSum += b;
      pushLargest(acc.largest, c.key, b, o.largestKeys);
    });
  }
  for (const a of accs.values()) a.candidates = [];
}

function buildReport(
  o: ResolvedScanOptions,
  nodes: ScanNode[],
  accs: Map<string, Acc>,
  folder: PatternFolder,
  topMemory: TopEntry[],
  topLength: TopEntry[],
  extra: { vanished: number; usedMemoryBytes: number; interrupted: boolean; started: number; blocking: ScanReport['blocking'] },
): ScanReport {
  const patterns: PatternStats[] = [...accs].map(([pattern, a]) => {
    const e = estimate(a);
    return {
      pattern,
      glob: patternToGlob(pattern),
      keys: a.keys,
      keysWithoutTtl: a.keysWithoutTtl,
      types: a.types,
      memoryBytes: Math.round(e.bytes),
      memoryErrorBytes: Math.round(e.error),
      memoryWithoutTtlBytes: Math.round(e.noTtl),
      memorySampledKeys: a.exactKeys + a.n,
      memorySampledBytes: a.exactBytes + a.sum,
      memoryExactKeys: a.exactKeys,
      ttl: a.ttl,
      largest: a.largest,
    };
  });
  patterns.sort((a, b) => b.memoryBytes - a.memoryBytes || b.keys - a.keys || a.pattern.localeCompare(b.pattern));
  const placed = (strict: string): string => {
    const p = folder.resolve(strict);
    return accs.has(p) ? p : OTHER_PATTERN;
  };
  const top = (e: TopEntry): TopKey => ({ key: e.key, type: e.type, pttl: e.pttl, pattern: placed(e.strict), ...(e.bytes !== undefined ? { bytes: e.bytes } : {}), length: e.length, node: e.node });
  return {
    command: 'scan',
    nodes: nodes.map((n) => n.id),
    match: o.match,
    ...(o.type ? { type: o.type } : {}),
    memorySampleRate: o.memorySampleRate,
    measureAbove: o.measureAbove,
    maxBlockMs: o.maxBlockMs,
    keys: patterns.reduce((n, p) => n + p.keys, 0),
    keysWithoutTtl: patterns.reduce((n, p) => n + p.keysWithoutTtl, 0),
    memoryBytes: patterns.reduce((n, p) => n + p.memoryBytes, 0),
    memoryErrorBytes: Math.round(Math.sqrt(patterns.reduce((n, p) => n + p.memoryErrorBytes ** 2, 0))),
    memoryWithoutTtlBytes: patterns.reduce((n, p) => n + p.memoryWithoutTtlBytes, 0),
    usedMemoryBytes: extra.usedMemoryBytes,
    vanished: extra.vanished,
    patterns,
    patternsCapped: accs.has(OTHER_PATTERN),
    topKeys: { byMemory: topMemory.map(top), byLength: topLength.map(top) },
    blocking: extra.blocking,
    durationMs: Math.round(performance.now() - extra.started),
    interrupted: extra.interrupted,
  };
}
