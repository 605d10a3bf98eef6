import { TidyKvConfigError, TidyKvKeys } from '@tidykv/core';
import type { IndexRule } from './internal/layouts/layout.js';
import { tidykvRepositoryRule } from './internal/layouts/tidykv-repository.layout.js';
import { tidykvSessionRule } from './internal/layouts/tidykv-session.layout.js';

export type { IndexRule } from './internal/layouts/layout.js';

/** Progress of a run, reported after every committed batch. */
export interface AuditProgress {
  /** Keys looked at so far (including those counted before a resume). */
  keysSeen: number;
  /** Keys on the walked nodes when the run started (DBSIZE), for a progress bar. */
  keysTotal: number;
}

/** Options every command shares. */
export interface AuditRunOptions {
  /** Read from replicas instead of masters (every replica of a Cluster, or those a standalone master lists). Default: false. */
  replicas?: boolean;
  /** SCAN MATCH pattern limiting the keys walked. Default: `*`. */
  match?: string;
  /** SCAN COUNT hint: keys asked for per SCAN call. Default: 1000. */
  count?: number;
  /** Maximum keys per second, across all nodes. Default: none (as fast as the pipeline allows). */
  rate?: number;
  /** Batches in flight per node. Default: 4. */
  inflight?: number;
  /** Checkpoint file: progress is saved there and an interrupted run with the same options resumes from it. Default: none. */
  checkpoint?: string;
  /** Aborting it stops the run cleanly after the current batch (the CLI wires Ctrl-C to it). Default: none. */
  signal?: AbortSignal;
  /** Called after every committed batch. Default: none. */
  onProgress?: (progress: AuditProgress) => void;
}

/** Options of {@link scanKeyspace}. */
export interface ScanOptions extends AuditRunOptions {
  /** SCAN ... TYPE filter (`string`, `hash`, `set`, `zset`, `list`, `stream`). Default: every type. */
  type?: string;
  /** Fraction of keys measured with MEMORY USAGE (0 to 1); pattern totals are extrapolated, exact at 1. Default: 0.01. */
  memorySampleRate?: number;
  /** MEMORY USAGE ... SAMPLES for nested values (0 = every element). Default: 5 (Redis's default). */
  memorySamples?: number;
  /** Largest keys listed per pattern (among measured keys). Default: 5. */
  largestKeys?: number;
  /** Patterns differing in one literal segment with more variants than this are merged into `<*>` (or the id kind every variant fits). Default: 50. */
  foldThreshold?: number;
  /**
   * Blocking budget in ms: no single command the scan sends should keep the server busy longer.
   * Each call's batch is sized from the measured run time of the previous ones, aiming at 15%
   * of the budget (on standalone Redis >= 7 one self-timed script runs SCAN and the reads). On a
   * Cluster or Redis < 7, SCAN COUNT is lowered when commandstats show SCAN calls above half of the
   * budget and the O(1) reads are pipelined. Default: 1.
   */
  maxBlockMs?: number;
  /**
   * Keys whose cheap size read (STRLEN, or the element count times a typical element size)
   * suggests at least this many bytes are always measured with MEMORY USAGE, whatever the sample
   * rate; so are keys that could enter the top-keys list. Default: 8192.
   */
  measureAbove?: number;
  /** Length of the top-keys lists (largest keys by memory and by element count). Default: 10. */
  topKeys?: number;
  /** Patterns kept at most; keys of further patterns are counted under `<other>`. Default: 2000. */
  maxPatterns?: number;
}

/** Options of {@link findOrphans}. */
export interface OrphanOptions extends AuditRunOptions {
  /** Spring Session namespace, or `false` to skip Spring Session checks. Default: `spring:session`. */
  springSessionNamespace?: string | false;
  /**
   * Spring Data Redis keyspaces to check (the `@RedisHash` values). Default: `[]`, plus every
   * keyspace found from `:idx` sets, `:phantom` hashes and keyspace sets whose members name hashes.
   */
  springDataKeyspaces?: readonly string[];
  /** Find Spring Data keyspaces automatically (see {@link springDataKeyspaces}). Default: true. */
  detectSpringDataKeyspaces?: boolean;
  /** Index rules for tidykv's own indexes (or any app's). Default: {@link DEFAULT_INDEX_RULES}. */
  indexRules?: readonly IndexRule[];
  /** Members checked per round trip when walking a large index. Default: 200. */
  memberBatch?: number;
  /** Findings listed one by one in the report (totals stay exact). Default: 10000. */
  listLimit?: number;
}

/** Options of {@link fixLeaks}. */
export interface FixOptions extends OrphanOptions {
  /** Change things; without it `fix` is a dry run that only logs what it would do. Default: false. */
  apply?: boolean;
  /** Give keys that have no TTL this TTL, in seconds (EXPIRE NX: an existing TTL is never replaced). Default: none. */
  expireSeconds?: number;
  /** Remove dead index members and orphaned keys (each re-checked at removal). Default: false. */
  pruneOrphans?: boolean;
  /** JSON-lines log of every change (appended to). Default: `tidykv-audit-fix-<time>.jsonl` in the working directory. */
  logFile?: string;
}

type Resolved<T, K extends keyof T> = T & { [P in K]-?: Exclude<T[P], undefined> };

/** {@link ScanOptions} with every default filled in. */
export type ResolvedScanOptions = Resolved<
  ScanOptions,
  'replicas' | 'match' | 'count' | 'inflight' | 'memorySampleRate' | 'memorySamples' | 'largestKeys' | 'foldThreshold' | 'maxBlockMs' | 'measureAbove' | 'topKeys' | 'maxPatterns'
>;

/** {@link OrphanOptions} with every default filled in. */
export type ResolvedOrphanOptions = Resolved<
  OrphanOptions,
  'replicas' | 'match' | 'count' | 'inflight' | 'springSessionNamespace' | 'springDataKeyspaces' | 'detectSpringDataKeyspaces' | 'indexRules' | 'memberBatch' | 'listLimit'
>;

/** {@link FixOptions} with every default filled in. */
export type ResolvedFixOptions = ResolvedOrphanOptions & Resolved<FixOptions, 'apply' | 'pruneOrphans' | 'logFile'>;

/** Defaults of {@link AuditRunOptions}. */
export const DEFAULT_AUDIT_RUN_OPTIONS = Object.freeze({
  replicas: false,
  match: '*',
  count: 1000,
  inflight: 4,
});

/** Defaults of {@link ScanOptions}. */
export const DEFAULT_SCAN_OPTIONS = Object.freeze({
  ...DEFAULT_AUDIT_RUN_OPTIONS,
  memorySampleRate: 0.01,
  memorySamples: 5,
  largestKeys: 5,
  foldThreshold: 50,
  maxBlockMs: 1,
  measureAbove: 8192,
  topKeys: 10,
  maxPatterns: 2000,
});

/**
 * Index rules for tidykv's own layouts under key prefix `prefix` (the modules' `keyPrefix`), as
 * @tidykv/core's `TidyKvKeys` lays them out (one description of the keys, shared with the
 * packages that write them):
 *
 * - @tidykv/session principal index: ZSET `<prefix>u:{<tag>}` of `<sessionId>:<principal>`
 *   scored by expiry ms, pointing at the session hash of the id;
 * - @tidykv/repository `@Indexed` properties: ZSET `<prefix><keyspace>:idx:<property>:{<value>}`
 *   of entity ids scored by expiry ms (`+inf` without TTL), pointing at the entity hash.
 *
 * Throws `TidyKvConfigError` (option `tidykvPrefix`) for a prefix tidykv would refuse.
 */
export function tidykvIndexRules(prefix = 'tkv:'): IndexRule[] {
  const keys = new TidyKvKeys(prefix, 'tidykvPrefix');
  return [tidykvSessionRule(keys), tidykvRepositoryRule(keys)];
}

/**
 * Index layouts of tidykv's own packages with the default `tkv:` prefix, checked by default:
 * members whose score (expiry ms) is in the past, or whose target key is gone, are dead.
 */
export const DEFAULT_INDEX_RULES: readonly IndexRule[] = Object.freeze(tidykvIndexRules('tkv:').map((r) => Object.freeze(r)));

/** Spring Session's own default key namespace (`spring:session`), checked unless told otherwise. */
export const DEFAULT_SPRING_SESSION_NAMESPACE = 'spring:session';

// Typed as wide as the options they default, so that withDefaults accepts what callers pass.
const defaultNamespace: string | false = DEFAULT_SPRING_SESSION_NAMESPACE;
const noKeyspaces: readonly string[] = Object.freeze([]);

/** Defaults of {@link OrphanOptions}. */
export const DEFAULT_ORPHAN_OPTIONS = Object.freeze({
  ...DEFAULT_AUDIT_RUN_OPTIONS,
  springSessionNamespace: defaultNamespace,
  springDataKeyspaces: noKeyspaces,
  detectSpringDataKeyspaces: true,
  indexRules: DEFAULT_INDEX_RULES,
  memberBatch: 200,
  listLimit: 10000,
});

/** Defaults of {@link FixOptions}. */
export const DEFAULT_FIX_OPTIONS = Object.freeze({
  ...DEFAULT_ORPHAN_OPTIONS,
  apply: false,
  pruneOrphans: false,
});

const TYPES = ['string', 'hash', 'set', 'zset', 'list', 'stream'];

function positiveInt(option: string, value: unknown, fix?: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
    throw TidyKvConfigError.invalid(option, value, 'a positive integer', fix);
  }
}

function checkRun(o: AuditRunOptions): void {
  if (o.match !== undefined && (typeof o.match !== 'string' || o.match === '')) {
    throw TidyKvConfigError.invalid('match', o.match, 'a non-empty SCAN MATCH pattern', 'Use "*" for every key.');
  }
  positiveInt('count', o.count, 'It is the SCAN COUNT hint; 1000 suits most servers.');
  positiveInt('inflight', o.inflight);
  if (o.rate !== undefined && (typeof o.rate !== 'number' || !Number.isFinite(o.rate) || o.rate <= 0)) {
    throw TidyKvConfigError.invalid('rate', o.rate, 'a positive number of keys per second', 'Omit it for no limit.');
  }
  if (o.checkpoint !== undefined && (typeof o.checkpoint !== 'string' || o.checkpoint === '')) {
    throw TidyKvConfigError.invalid('checkpoint', o.checkpoint, 'a file path');
  }
}

/**
 * Every field of `defaults`, taken from `given` where it is not undefined. Field by field with
 * `??` rather than a spread, so that an explicit `undefined` (an unset CLI flag) keeps the
 * default while `false` and `0` stay what the caller said.
 */
function withDefaults<D extends object>(given: Partial<Record<keyof D, unknown>>, defaults: D): D {
  const out = { ...defaults };
  for (const k of Object.keys(defaults) as (keyof D)[]) {
    const v = given[k];
    if (v !== undefined && v !== null) out[k] = v as D[keyof D];
  }
  return out;
}

/** Validates and completes {@link ScanOptions}; throws `TidyKvConfigError` naming the option. */
export function validateScanOptions(o: ScanOptions = {}): ResolvedScanOptions {
  checkRun(o);
  if (o.type !== undefined && !TYPES.includes(o.type)) {
    throw TidyKvConfigError.invalid('type', o.type, `one of ${TYPES.join(', ')}`);
  }
  const r = o.memorySampleRate;
  if (r !== undefined && (typeof r !== 'number' || !(r >= 0 && r <= 1))) {
    throw TidyKvConfigError.invalid('memorySampleRate', r, 'a fraction from 0 to 1', 'Use 0.01 for 1% of keys, 1 for exact figures.');
  }
  if (o.memorySamples !== undefined && (!Number.isInteger(o.memorySamples) || o.memorySamples < 0)) {
    throw TidyKvConfigError.invalid('memorySamples', o.memorySamples, 'a non-negative integer (0 = every element)');
  }
  positiveInt('largestKeys', o.largestKeys);
  positiveInt('foldThreshold', o.foldThreshold);
  const b = o.maxBlockMs;
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b < 0.05 || b > 10_000)) {
    throw TidyKvConfigError.invalid('maxBlockMs', b, 'a number of milliseconds from 0.05 to 10000', 'The default 1 keeps each command under 1 ms; raise it only where longer pauses are acceptable.');
  }
  if (o.measureAbove !== undefined && (typeof o.measureAbove !== 'number' || !Number.isFinite(o.measureAbove) || o.measureAbove < 0)) {
    throw TidyKvConfigError.invalid('measureAbove', o.measureAbove, 'a non-negative number of bytes', 'Use 0 to measure every key, 8192 for the default.');
  }
  positiveInt('topKeys', o.topKeys);
  positiveInt('maxPatterns', o.maxPatterns, 'It bounds the memory the scan uses; 2000 suits most keyspaces.');
  return { ...o, ...withDefaults(o, DEFAULT_SCAN_OPTIONS) };
}

/** Validates and completes {@link OrphanOptions}. */
export function validateOrphanOptions(o: OrphanOptions = {}): ResolvedOrphanOptions {
  checkRun(o);
  const ns = o.springSessionNamespace;
  if (ns !== undefined && ns !== false && (typeof ns !== 'string' || ns === '' || /[*?[\]]/.test(ns))) {
    throw TidyKvConfigError.invalid('springSessionNamespace', ns, 'a key namespace such as "spring:session", or false', 'Glob characters are not allowed.');
  }
  if (o.springDataKeyspaces !== undefined && (!Array.isArray(o.springDataKeyspaces) || o.springDataKeyspaces.some((k) => typeof k !== 'string' || k === ''))) {
    throw TidyKvConfigError.invalid('springDataKeyspaces', o.springDataKeyspaces, 'an array of keyspace names such as ["persons"]');
  }
  if (o.indexRules !== undefined) {
    // Checked as unknown: the options may come from JSON or plain JavaScript.
    const rules: unknown = o.indexRules;
    if (!Array.isArray(rules)) throw TidyKvConfigError.invalid('indexRules', o.indexRules, 'an array of { name, match, target?, scoreIsExpiry? }');
    (rules as (IndexRule | null | undefined)[]).forEach((rule, i) => {
      if (!rule || typeof rule.name !== 'string' || typeof rule.match !== 'string' || rule.match === '') {
        throw TidyKvConfigError.invalid(`indexRules[${i}]`, rule, '{ name, match } with a non-empty SCAN glob');
      }
      if (rule.target !== undefined && typeof rule.target !== 'function' && (typeof rule.target !== 'string' || !rule.target.includes('$member'))) {
        throw TidyKvConfigError.invalid(`indexRules[${i}].target`, rule.target, 'a key template containing $member, or a function', 'For example "app:sess:{$member}".');
      }
      if (rule.target === undefined && rule.scoreIsExpiry === false) {
        throw TidyKvConfigError.invalid(`indexRules[${i}]`, rule, 'a target, or scores that are expiry times', 'Without either, no member can be judged dead.');
      }
    });
  }
  positiveInt('memberBatch', o.memberBatch);
  positiveInt('listLimit', o.listLimit);
  return { ...o, ...withDefaults(o, DEFAULT_ORPHAN_OPTIONS) };
}

/** Validates and completes {@link FixOptions}. */
export function validateFixOptions(o: FixOptions = {}): ResolvedFixOptions {
  const base = validateOrphanOptions(o);
  if (o.expireSeconds !== undefined && (!Number.isInteger(o.expireSeconds) || o.expireSeconds < 1)) {
    throw TidyKvConfigError.invalid('expireSeconds', o.expireSeconds, 'a positive whole number of seconds', 'For example 2592000 for 30 days (the CLI takes --expire 30d).');
  }
  if (o.expireSeconds === undefined && !o.pruneOrphans) {
    throw TidyKvConfigError.invalid('fix', 'neither expireSeconds nor pruneOrphans', 'at least one repair', 'Pass --expire <duration> and/or --prune-orphans.');
  }
  if (o.replicas) {
    throw TidyKvConfigError.invalid('replicas', o.replicas, 'false for fix', 'Replicas are read-only; fix writes on masters.');
  }
  if (o.logFile !== undefined && (typeof o.logFile !== 'string' || o.logFile === '')) {
    throw TidyKvConfigError.invalid('logFile', o.logFile, 'a file path');
  }
  return {
    ...base,
    ...withDefaults(o, { apply: DEFAULT_FIX_OPTIONS.apply, pruneOrphans: DEFAULT_FIX_OPTIONS.pruneOrphans }),
    logFile: o.logFile ?? `tidykv-audit-fix-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`,
  };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses `90`, `90s`, `15m`, `12h`, `30d`, `2w` (or combinations like `1d12h`) into whole seconds. */
export function parseDuration(text: string, option = 'duration'): number {
  const t = String(text).trim();
  if (/^\d+$/.test(t) && Number(t) > 0) return Number(t);
  const parts = [...t.matchAll(/(\d+)([smhdw])/g)];
  const total = parts.reduce((n, m) => n + Number(m[1]) * UNITS[m[2]], 0);
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== t || total < 1) {
    throw TidyKvConfigError.invalid(option, text, 'a duration such as 3600, 90m, 12h, 30d or 1d12h');
  }
  return total;
}
