import { TidyKvKeys } from '@tidykv/core';
import { listKeys } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent } from './session-app.js';

// What the fault suites record about every request they send, and the checks that compare it with
// what Redis holds afterwards. The rule they enforce is the one a client relies on:
// 200 = applied (and kept, where the server's persistence keeps anything), 503
// TIDYKV_UNAVAILABLE = nothing was applied, 503 TIDYKV_OUTCOME_UNKNOWN = either (counted).

/** How an answer classifies. */
export type Answer = 'ok' | 'unavailable' | 'unknown' | 'other';

/** One request as a suite sent it. */
export interface Attempt {
  readonly agent: number;
  readonly seq: number;
  readonly answer: Answer;
  readonly status: number;
  readonly code: string | undefined;
  /** performance.now() when the request was sent. */
  readonly startedAt: number;
  /** How long the answer took, ms. */
  readonly ms: number;
  /** The session id the agent held before the request (from its cookie). */
  readonly idBefore: string | undefined;
  /** The session id the agent holds after it. */
  readonly idAfter: string | undefined;
  /** True when the answer set the session cookie. */
  readonly setCookie: boolean;
}

/** The session id inside a signed cookie value `<id>.<signature>`. */
export function idOfCookie(cookie: string | undefined): string | undefined {
  return cookie === undefined ? undefined : cookie.slice(0, cookie.indexOf('.'));
}

export function classify(status: number, body: unknown): Answer {
  if (status >= 200 && status < 300) return 'ok';
  const code = (body as { code?: unknown } | undefined)?.code;
  if (status === 503 && code === 'TIDYKV_UNAVAILABLE') return 'unavailable';
  if (status === 503 && code === 'TIDYKV_OUTCOME_UNKNOWN') return 'unknown';
  return 'other';
}

/** Sends one request from `agent` and records it. */
export async function attempt(
  log: Attempt[],
  agentNo: number,
  agent: Agent,
  seq: number,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Attempt & { body: unknown }> {
  const idBefore = idOfCookie(agent.cookie);
  const startedAt = performance.now();
  let status = 0;
  let resBody: unknown;
  let setCookie = false;
  try {
    const r = await agent.request(method, path, method === 'POST' ? (body ?? {}) : undefined);
    status = r.status;
    resBody = r.body;
    setCookie = r.setCookie.some((c) => c.startsWith('sid='));
  } catch (err) {
    // The app dropped the connection: never expected, recorded as "other".
    resBody = { code: `socket: ${(err as Error).message}` };
  }
  const a: Attempt = {
    agent: agentNo,
    seq,
    answer: classify(status, resBody),
    status,
    code: (resBody as { code?: string } | undefined)?.code,
    startedAt,
    ms: performance.now() - startedAt,
    idBefore,
    idAfter: idOfCookie(agent.cookie),
    setCookie,
  };
  log.push(a);
  return { ...a, body: resBody };
}

/** Runs `body` in a loop until `stop()` says so, pausing `pauseMs` between rounds. */
export async function loopUntil(stop: () => boolean, pauseMs: number, body: (round: number) => Promise<void>): Promise<void> {
  for (let round = 0; !stop(); round++) {
    await body(round);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Counts of answers by kind. */
export function tally(log: readonly Attempt[]): Record<Answer, number> {
  const out: Record<Answer, number> = { ok: 0, unavailable: 0, unknown: 0, other: 0 };
  for (const a of log) out[a.answer]++;
  return out;
}

/** One session hash as Redis holds it. */
export interface StoredSessionView {
  readonly id: string;
  readonly key: string;
  readonly pttl: number;
  /** Every field, raw. */
  readonly fields: Record<string, string>;
}

/** What is under the prefix: every session hash, every other key, and keys of unknown shape. */
export interface Snapshot {
  readonly sessions: Map<string, StoredSessionView>;
  readonly indexes: { key: string; pttl: number; members: [string, number][] }[];
  /** Keys under the prefix tidykv's layout does not recognise, plus every key outside the prefix. */
  readonly strangers: string[];
  /** Keys without a TTL. */
  readonly withoutTtl: string[];
}

/**
 * Reads the keys matching `pattern` (SCAN, so nothing is touched; default every key, so that a
 * key outside the prefix counts as a stranger) and sorts them by the key layout.
 */
export async function snapshot(probe: Redis, prefix: string, pattern = '*'): Promise<Snapshot> {
  const keys = new TidyKvKeys(prefix);
  const all = await listKeys(probe, pattern);
  const sessions = new Map<string, StoredSessionView>();
  const indexes: Snapshot['indexes'] = [];
  const strangers: string[] = [];
  const withoutTtl: string[] = [];
  for (const k of all) {
    // Expired between the SCAN and the TYPE/PTTL that followed it.
    if (k.type === 'none') continue;
    if (k.pttl === -1) withoutTtl.push(k.key);
    const parsed = k.key.startsWith(prefix) ? keys.parse(k.key) : undefined;
    if (parsed?.kind === 'session' && k.type === 'hash') {
      const fields = await probe.hgetall(k.key);
      // Expired between the SCAN and this read: it is gone.
      if (Object.keys(fields).length > 0) sessions.set(parsed.id, { id: parsed.id, key: k.key, pttl: k.pttl, fields });
    } else if (parsed?.kind === 'principal-index' && k.type === 'zset') {
      const flat = await probe.zrange(k.key, '0', '-1', 'WITHSCORES');
      if (flat.length === 0) continue;
      const members: [string, number][] = [];
      for (let i = 0; i < flat.length; i += 2) members.push([flat[i], Number(flat[i + 1])]);
      indexes.push({ key: k.key, pttl: k.pttl, members });
    } else if (parsed?.kind === 'session-operation' && k.type === 'string') {
      // An increment's re-send token: allowed, with its TTL (checked through withoutTtl).
    } else strangers.push(k.key);
  }
  return { sessions, indexes, strangers, withoutTtl };
}

/** Sessions missing their metadata (created without '#c', or with a '#a' that is not a number): half-written. */
export function halfWrittenSessions(s: Snapshot): string[] {
  const out: string[] = [];
  for (const v of s.sessions.values()) {
    if (!/^\d+$/.test(v.fields['#c'] ?? '') || !/^\d+$/.test(v.fields['#a'] ?? '')) out.push(v.key);
  }
  return out;
}

/** Which session holds each attribute name (an attribute written twice to different sessions appears in `duplicates`). */
export function attributeIndex(s: Snapshot): { where: Map<string, string>; duplicates: string[] } {
  const where = new Map<string, string>();
  const duplicates: string[] = [];
  for (const v of s.sessions.values()) {
    for (const f of Object.keys(v.fields)) {
      if (f.startsWith('#')) continue;
      if (where.has(f)) duplicates.push(f);
      where.set(f, v.id);
    }
  }
  return { where, duplicates };
}

/** Attribute names the write suites use: each attempt writes a pair, so a torn write shows. */
export function pairOf(agent: number, seq: number): [string, string] {
  return [`x${agent}_${seq}`, `y${agent}_${seq}`];
}

/** What the write ledger found. */
export interface WriteCheck {
  /** Answers 503 TIDYKV_UNAVAILABLE whose write is in Redis: must be 0. */
  readonly appliedAfterUnavailable: Attempt[];
  /** Writes of which one attribute of the pair is there and the other not: must be 0. */
  readonly torn: Attempt[];
  /** Answers 200 whose write is not in Redis (checked only where the server kept data): must be 0. */
  readonly lostAcknowledged: Attempt[];
  /** Outcome-unknown answers whose write was applied / was not. */
  readonly unknownApplied: number;
  readonly unknownNotApplied: number;
}

/**
 * Compares write attempts (each wrote the pair {@link pairOf}) with a snapshot. `kept(a)` says
 * whether an acknowledged write must still be there (with AOF, all; without, those answered after
 * the restart).
 */
export function checkWrites(log: readonly Attempt[], s: Snapshot, kept: (a: Attempt) => boolean): WriteCheck {
  const { where } = attributeIndex(s);
  const appliedAfterUnavailable: Attempt[] = [];
  const torn: Attempt[] = [];
  const lostAcknowledged: Attempt[] = [];
  let unknownApplied = 0;
  let unknownNotApplied = 0;
  for (const a of log) {
    const [x, y] = pairOf(a.agent, a.seq);
    const hasX = where.has(x);
    const hasY = where.has(y);
    if (hasX !== hasY) torn.push(a);
    if (a.answer === 'unavailable' && (hasX || hasY)) appliedAfterUnavailable.push(a);
    if (a.answer === 'ok' && kept(a) && !(hasX && hasY)) lostAcknowledged.push(a);
    if (a.answer === 'unknown') {
      if (hasX || hasY) unknownApplied++;
      else unknownNotApplied++;
    }
  }
  return { appliedAfterUnavailable, torn, lostAcknowledged, unknownApplied, unknownNotApplied };
}

/** What the increment ledger found, per session that still exists. */
export interface IncrementCheck {
  /** Sessions whose counter exceeds its 200 answers plus its outcome-unknown answers: a write applied twice (or after "nothing applied"). Must be 0. */
  readonly overCounted: { id: string; n: number; acked: number; unknown: number }[];
  /** Sessions whose counter is below its 200 answers (checked where the server kept data). Must be 0. */
  readonly underCounted: { id: string; n: number; acked: number }[];
  /** Increments answered 200. */
  readonly acked: number;
  /** Outcome-unknown increments that were applied (inferred per session: n - acked). */
  readonly unknownApplied: number;
  readonly unknown: number;
}

/**
 * Compares `session.increment` attempts with the counters in Redis. An increment answered 200
 * applied to the session the agent holds afterwards (a new session when its old one was gone);
 * a failed one targeted the session the agent held. `kept(id)` says whether the session's
 * acknowledged increments must all be there.
 */
export function checkIncrements(log: readonly Attempt[], s: Snapshot, counter: string, kept: (id: string) => boolean): IncrementCheck {
  const per = new Map<string, { acked: number; unknown: number }>();
  for (const a of log) {
    const target = a.answer === 'ok' ? a.idAfter : a.idBefore;
    if (target === undefined) continue;
    const e = per.get(target) ?? { acked: 0, unknown: 0 };
    if (a.answer === 'ok') e.acked++;
    if (a.answer === 'unknown') e.unknown++;
    per.set(target, e);
  }
  const overCounted: IncrementCheck['overCounted'] = [];
  const underCounted: IncrementCheck['underCounted'] = [];
  let acked = 0;
  let unknown = 0;
  let unknownApplied = 0;
  for (const [id, e] of per) {
    const v = s.sessions.get(id);
    if (!v) continue;
    const n = Number(v.fields[counter] ?? '0');
    acked += e.acked;
    unknown += e.unknown;
    if (n > e.acked + e.unknown) overCounted.push({ id, n, ...e });
    if (kept(id) && n < e.acked) underCounted.push({ id, n, acked: e.acked });
    unknownApplied += Math.max(0, Math.min(e.unknown, n - e.acked));
  }
  return { overCounted, underCounted, acked, unknown, unknownApplied };
}

/** Sleeps; only for letting traffic run for a while, never to wait for a condition (use eventually). */
export function runFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
