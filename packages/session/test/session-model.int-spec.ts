import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TidyKvKeys } from '@tidykv/core';
import { countCommands, eventually, RedisProcess } from '@tidykv/testing';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { reportLine, startFaultApp, type FaultApp } from './support/fault-app.js';
import { idOfCookie, snapshot } from './support/fault-ledger.js';
import { Agent } from './support/session-app.js';

// The session against an in-memory model. fast-check draws sequences of steps: batches of
// concurrent requests from a few browsers (writes, deletes, increments, logouts, regenerations,
// logins and touches, each sent after a small random delay so that they interleave differently
// every time), and waits, some long enough for short idle timeouts to expire sessions. The model
// learns from each answer what was applied (a save that says "saved" was, one that says "dropped"
// was not) and, after every step, Redis must hold exactly the model: the same sessions with the
// same attributes, nothing the model says is gone (a logged-out session never comes back), a
// principal index that lists exactly the live sessions of each principal, a TTL on every key.
// Expiry is judged with a slack either side: a session is certainly alive until IDLE - SLACK after
// the latest request that certainly re-armed it, certainly gone IDLE + SLACK after the last one that
// may have, and in between either is accepted (absent ones then leave the model). Once everything
// has expired, DBSIZE is 0.
const IDLE = 1_000;
const SLACK = 250;
const PREFIX = 'm:';
const AGENTS = 3;
const ATTRS = ['a', 'b', 'c', 'd'] as const;
const keys = new TidyKvKeys(PREFIX);

type Kind = 'write' | 'delete' | 'increment' | 'logout' | 'regenerate' | 'login' | 'touch';
interface SubOp {
  readonly agent: number;
  readonly kind: Kind;
  readonly attr: (typeof ATTRS)[number];
  readonly value: number;
  readonly user: string;
  readonly delayMs: number;
}

interface ModelSession {
  attrs: Map<string, unknown>;
  /** performance.now() bounds of the latest TTL re-arm: certainly after armLow, at the latest armHigh. */
  armLow: number;
  armHigh: number;
}

class Model {
  readonly sessions = new Map<string, ModelSession>();
  /** Ids that left the model (logged out, renamed away, expired): Redis must never show them again. */
  readonly gone = new Set<string>();
}

interface Real {
  readonly agents: Agent[];
  readonly probe: Redis;
}

/** Counts over the whole property run, for the closing note. */
const totals = { runs: 0, steps: 0, batches: 0, requests: 0, waits: 0, checks: 0, created: 0, expired: 0, loggedOut: 0, renamed: 0, divergences: 0 };

const EXCLUSIVE: ReadonlySet<Kind> = new Set(['logout', 'regenerate', 'login']);

/** At most one logout, regeneration or login per browser per batch, and each attribute used once per browser: the answers then say what happened. */
function sane(ops: readonly SubOp[]): SubOp[] {
  const exclusive = new Set<number>();
  const attrs = new Set<string>();
  return ops.filter((op) => {
    if (EXCLUSIVE.has(op.kind)) {
      if (exclusive.has(op.agent)) return false;
      exclusive.add(op.agent);
      return true;
    }
    if (op.kind === 'touch') return true;
    const k = `${op.agent}/${op.attr}`;
    if (attrs.has(k)) return false;
    attrs.add(k);
    return true;
  });
}

function request(op: SubOp): { method: 'GET' | 'POST'; path: string; body?: unknown } {
  switch (op.kind) {
    case 'write':
      return { method: 'POST', path: '/f/write-save', body: { [op.attr]: op.value } };
    case 'delete':
      return { method: 'POST', path: `/f/delete/${op.attr}` };
    case 'increment':
      return { method: 'POST', path: `/f/incr/${op.attr}` };
    case 'logout':
      return { method: 'POST', path: '/f/logout' };
    case 'regenerate':
      return { method: 'POST', path: '/f/regenerate' };
    case 'login':
      return { method: 'POST', path: '/f/login-save', body: { userId: op.user } };
    case 'touch':
      return { method: 'GET', path: '/f/read' };
  }
}

class Batch implements fc.AsyncCommand<Model, Real, true> {
  constructor(readonly ops: readonly SubOp[]) {}

  async check(): Promise<boolean> {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const ops = sane(this.ops);
    // Every request of a batch carries the cookie its browser held when the batch began; answers
    // then update the browser's cookie in the order they arrive, as a browser's jar would.
    const jars = ops.map((op) => r.agents[op.agent].clone());
    let arrivals = 0;
    const results = await Promise.all(
      ops.map(async (op, i) => {
        const jar = jars[i];
        const idBefore = idOfCookie(jar.cookie);
        await new Promise((res) => setTimeout(res, op.delayMs));
        const { method, path, body } = request(op);
        const issue = performance.now();
        const res = await jar.request(method, path, method === 'POST' ? (body ?? {}) : undefined);
        const arrived = arrivals++;
        return { op, idBefore, issue, answer: performance.now(), arrived, setsCookie: res.setCookie.some((c) => c.startsWith('sid=')), cookie: jar.cookie, status: res.status, body: res.body as Record<string, unknown> | undefined };
      }),
    );
    for (const x of [...results].sort((p, q) => p.arrived - q.arrived)) if (x.setsCookie) r.agents[x.op.agent].cookie = x.cookie;
    totals.batches++;
    totals.requests += results.length;
    const problems: string[] = [];
    const sets: [string, string, unknown][] = [];
    const dels: [string, string][] = [];
    const moves: { from: string; to: string; extra?: [string, unknown]; issue: number; answer: number }[] = [];
    const logouts: string[] = [];
    const created: { id: string; attrs: Map<string, unknown>; issue: number; answer: number }[] = [];
    const loaded: [string, number][] = [];
    const conflicted = new Set(results.filter((x) => EXCLUSIVE.has(x.op.kind)).map((x) => x.op.agent));
    const touchedAttrs = new Set(results.filter((x) => x.op.kind !== 'touch' && !EXCLUSIVE.has(x.op.kind)).map((x) => `${x.op.agent}/${x.op.attr}`));
    const describe = (x: (typeof results)[number]): string => `${x.op.kind}(${x.op.attr}) by browser ${x.op.agent} on ${x.idBefore ?? 'no session'} -> ${x.status} ${JSON.stringify(x.body)}`;
    const known = (id: string | undefined, x: (typeof results)[number]): ModelSession | undefined => {
      const s = id === undefined ? undefined : m.sessions.get(id);
      if (!s) problems.push(`answer says ${id} exists, the model has it ${id !== undefined && m.gone.has(id) ? 'gone' : 'unknown'}: ${describe(x)}`);
      return s;
    };
    const absentSeen = (x: (typeof results)[number]): void => {
      const s = x.idBefore === undefined ? undefined : m.sessions.get(x.idBefore);
      if (s && !conflicted.has(x.op.agent) && x.issue < s.armLow + IDLE - SLACK) problems.push(`session vanished before its TTL: ${describe(x)}`);
    };
    for (const x of results) {
      const { op, idBefore: s, body } = x;
      const status = body?.status;
      const id = body?.id as string | undefined;
      switch (op.kind) {
        case 'write':
          if (x.status === 200 && status === 'saved' && id === s && known(s, x)) {
            sets.push([s as string, op.attr, op.value]);
            loaded.push([s as string, x.issue]);
          } else if (x.status === 200 && status === 'created' && id !== undefined && id !== s) {
            absentSeen(x);
            created.push({ id, attrs: new Map([[op.attr, op.value]]), issue: x.issue, answer: x.answer });
          } else if (!(x.status === 200 && status === 'dropped')) problems.push(`unexpected answer: ${describe(x)}`);
          break;
        case 'delete':
          if (x.status === 200 && status === 'saved' && id === s && known(s, x)) {
            dels.push([s as string, op.attr]);
            loaded.push([s as string, x.issue]);
          } else if (x.status === 200 && status === 'unchanged') {
            if (id === undefined) absentSeen(x);
            else if (id !== s) problems.push(`unexpected id: ${describe(x)}`);
            else {
              const ms = known(s, x);
              if (ms?.attrs.has(op.attr)) problems.push(`delete found no ${op.attr}, the model has it: ${describe(x)}`);
              loaded.push([s, x.issue]);
            }
          } else if (!(x.status === 200 && status === 'dropped')) problems.push(`unexpected answer: ${describe(x)}`);
          break;
        case 'increment':
          if (x.status === 200 && id === s && s !== undefined) {
            const ms = known(s, x);
            const expected = Number(ms?.attrs.get(op.attr) ?? 0) + 1;
            if (body?.n !== expected) problems.push(`increment returned ${String(body?.n)}, the model says ${expected}: ${describe(x)}`);
            sets.push([s, op.attr, body?.n]);
            loaded.push([s, x.issue]);
          } else if (x.status === 200 && id !== undefined) {
            absentSeen(x);
            if (body?.n !== 1) problems.push(`increment of a new session returned ${String(body?.n)}: ${describe(x)}`);
            created.push({ id, attrs: new Map([[op.attr, 1]]), issue: x.issue, answer: x.answer });
          } else if (!(x.status === 409 && body?.code === 'TIDYKV_SESSION_GONE')) problems.push(`unexpected answer: ${describe(x)}`);
          break;
        case 'logout':
          if (x.status !== 204) problems.push(`unexpected answer: ${describe(x)}`);
          else if (s !== undefined) logouts.push(s);
          break;
        case 'regenerate':
        case 'login':
          if (x.status === 200 && status === 'regenerated' && id !== undefined && id !== s && known(s, x)) {
            moves.push({ from: s as string, to: id, extra: op.kind === 'login' ? ['userId', op.user] : undefined, issue: x.issue, answer: x.answer });
          } else if (x.status === 200 && op.kind === 'login' && status === 'created' && id !== undefined) {
            absentSeen(x);
            created.push({ id, attrs: new Map([['userId', op.user]]), issue: x.issue, answer: x.answer });
          } else if (x.status === 200 && op.kind === 'regenerate' && status === 'unchanged' && id === undefined) {
            absentSeen(x);
          } else if (!(x.status === 200 && status === 'dropped')) problems.push(`unexpected answer: ${describe(x)}`);
          break;
        case 'touch':
          if (x.status !== 200) problems.push(`unexpected answer: ${describe(x)}`);
          else if (id === undefined) absentSeen(x);
          else if (id !== s) problems.push(`unexpected id: ${describe(x)}`);
          else {
            const ms = known(s, x);
            loaded.push([s, x.issue]);
            // Attributes no other request of this batch changed must read as the model has them.
            const seen = (body?.attributes ?? {}) as Record<string, unknown>;
            for (const a of new Set([...Object.keys(seen), ...(ms?.attrs.keys() ?? [])])) {
              if (touchedAttrs.has(`${op.agent}/${a}`)) continue;
              if (JSON.stringify(seen[a]) !== JSON.stringify(ms?.attrs.get(a))) problems.push(`read ${a}=${JSON.stringify(seen[a])}, the model has ${JSON.stringify(ms?.attrs.get(a))}: ${describe(x)}`);
            }
          }
          break;
      }
    }
    // Every request that may have loaded a session may have re-armed its TTL.
    for (const x of results) {
      const s = x.idBefore === undefined ? undefined : m.sessions.get(x.idBefore);
      if (s) s.armHigh = Math.max(s.armHigh, x.answer);
    }
    for (const [id, at] of loaded) {
      const s = m.sessions.get(id);
      if (s) s.armLow = Math.max(s.armLow, at);
    }
    for (const [id, a, v] of sets) m.sessions.get(id)?.attrs.set(a, v);
    for (const [id, a] of dels) m.sessions.get(id)?.attrs.delete(a);
    for (const mv of moves) {
      const from = m.sessions.get(mv.from);
      const attrs = new Map(from?.attrs);
      if (mv.extra) attrs.set(...mv.extra);
      m.sessions.delete(mv.from);
      m.gone.add(mv.from);
      m.sessions.set(mv.to, { attrs, armLow: mv.issue, armHigh: mv.answer });
      totals.renamed++;
    }
    for (const id of logouts) {
      if (m.sessions.delete(id)) totals.loggedOut++;
      m.gone.add(id);
    }
    for (const c of created) {
      m.sessions.set(c.id, { attrs: c.attrs, armLow: c.issue, armHigh: c.answer });
      totals.created++;
    }
    problems.push(...(await compare(m, r)));
    if (problems.length > 0) {
      totals.divergences += problems.length;
      throw new Error(`Redis diverged from the model after ${this.toString()}:\n${problems.join('\n')}`);
    }
  }

  toString(): string {
    return `batch[${this.ops.map((o) => `${o.kind}${o.kind === 'write' ? `(${o.attr}=${o.value})` : o.kind === 'login' ? `(${o.user})` : ['delete', 'increment'].includes(o.kind) ? `(${o.attr})` : ''}@${o.agent}+${o.delayMs}ms`).join(', ')}]`;
  }
}

class Wait implements fc.AsyncCommand<Model, Real, true> {
  constructor(readonly ms: number) {}

  async check(): Promise<boolean> {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    // Letting time pass is the step (short idle timeouts expiring sessions), not a wait for a condition.
    await new Promise((res) => setTimeout(res, this.ms));
    totals.waits++;
    const problems = await compare(m, r);
    if (problems.length > 0) {
      totals.divergences += problems.length;
      throw new Error(`Redis diverged from the model after ${this.toString()}:\n${problems.join('\n')}`);
    }
  }

  toString(): string {
    return `wait(${this.ms} ms)`;
  }
}

/** Redis against the model; sessions whose expiry is uncertain and that are gone leave the model. */
async function compare(m: Model, r: Real): Promise<string[]> {
  totals.checks++;
  const problems: string[] = [];
  const t = performance.now();
  const wallBefore = Date.now();
  const snap = await snapshot(r.probe, PREFIX);
  const wallAfter = Date.now();
  for (const [id, s] of m.sessions) {
    const stored = snap.sessions.get(id);
    const certainlyAlive = t < s.armLow + IDLE - SLACK;
    const certainlyDead = t > s.armHigh + IDLE + SLACK;
    if (!stored) {
      if (certainlyAlive) problems.push(`session ${id} is gone from Redis before its TTL`);
      m.sessions.delete(id);
      m.gone.add(id);
      totals.expired++;
      continue;
    }
    if (certainlyDead) problems.push(`session ${id} outlived its idle timeout`);
    if (stored.pttl <= 0 || stored.pttl > IDLE) problems.push(`session ${id} has PTTL ${stored.pttl}, expected 1..${IDLE}`);
    const inRedis: Record<string, unknown> = {};
    for (const [f, v] of Object.entries(stored.fields)) if (!f.startsWith('#')) inRedis[f] = JSON.parse(v);
    const inModel = Object.fromEntries(s.attrs);
    if (JSON.stringify(Object.entries(inRedis).sort()) !== JSON.stringify(Object.entries(inModel).sort())) {
      problems.push(`session ${id} holds ${JSON.stringify(inRedis)}, the model ${JSON.stringify(inModel)}`);
    }
  }
  for (const id of snap.sessions.keys()) {
    if (!m.sessions.has(id)) problems.push(m.gone.has(id) ? `session ${id} came back after it was logged out, renamed or expired` : `session ${id} is unknown to the model`);
  }
  for (const k of snap.strangers) problems.push(`unexpected key ${k}`);
  for (const k of snap.withoutTtl) problems.push(`key ${k} has no TTL`);
  // The principal index: a member scored clearly in the future names a session of that principal;
  // one scored clearly in the past names a session that is gone; every session with a principal
  // has its member. (Scores are expiry times on the server clock, which this machine shares.)
  const listed = new Set<string>();
  for (const idx of snap.indexes) {
    for (const [member, score] of idx.members) {
      const p = keys.parsePrincipalMember(member);
      if (!p) {
        problems.push(`malformed index member ${member} in ${idx.key}`);
        continue;
      }
      const s = snap.sessions.get(p.id);
      if (score > wallAfter + SLACK) {
        if (s?.fields.userId !== p.rawPrincipal) problems.push(`index ${idx.key} lists ${member}, but that session ${s ? `has userId ${s.fields.userId}` : 'is gone'}`);
      } else if (score < wallBefore - 50 && s) problems.push(`index ${idx.key} scores live session ${p.id} as expired`);
      if (s) listed.add(p.id);
    }
  }
  for (const s of snap.sessions.values()) {
    if (s.fields.userId !== undefined && !listed.has(s.id)) problems.push(`session ${s.id} of principal ${s.fields.userId} is missing from its index`);
  }
  return problems;
}

const subOp: fc.Arbitrary<SubOp> = fc.record({
  agent: fc.integer({ min: 0, max: AGENTS - 1 }),
  kind: fc.constantFrom<Kind>('write', 'write', 'write', 'delete', 'increment', 'increment', 'logout', 'regenerate', 'login', 'touch', 'touch'),
  attr: fc.constantFrom(...ATTRS),
  value: fc.integer({ min: -5, max: 99 }),
  user: fc.constantFrom('ann', 'bob'),
  delayMs: fc.integer({ min: 0, max: 12 }),
});

const batch = fc.array(subOp, { minLength: 1, maxLength: 7 }).map((ops) => new Batch(ops));
// Mostly batches; waits of a moment, of a part of the idle timeout, and past it.
const steps = fc.commands<Model, Real, true>([batch, batch, batch, batch, batch, batch, fc.constantFrom(30, 500).map((ms) => new Wait(ms)), fc.constant(new Wait(IDLE + SLACK + 50))], {
  maxCommands: 16,
  size: 'large',
});

describe('@tidykv/session against an in-memory model (fast-check)', () => {
  let redis: RedisProcess;
  let probe: Redis;
  let app: FaultApp;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    probe = redis.client();
    // touchIntervalMs 0: every request that loads a session re-arms its TTL, which is what lets
    // the model bound each session's expiry from the requests alone.
    app = await startFaultApp({ connection: { url: redis.url }, keyPrefix: PREFIX, idleTimeoutMs: IDLE, touchIntervalMs: 0, absoluteTimeoutMs: 0, principal: 'userId' });
  });
  afterAll(async () => {
    reportLine('session model', totals);
    await app?.close();
    await redis?.close();
  });

  it('keeps Redis equal to the model after every step of random concurrent interleavings, and DBSIZE is 0 once everything has expired', async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (cmds) => {
        await probe.flushall();
        totals.runs++;
        const model = new Model();
        const real: Real = { agents: Array.from({ length: AGENTS }, () => new Agent(app.url)), probe };
        // Every browser starts with a session, so that the first steps have something to race on.
        await new Batch(Array.from({ length: AGENTS }, (_, agent) => ({ agent, kind: 'write' as const, attr: 'a' as const, value: 0, user: 'ann', delayMs: 0 }))).run(model, real);
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        totals.steps += [...cmds].length;
        // Nothing is touched any more: every key (sessions and principal indexes) expires on its
        // own, and the server's active expiry removes it without anyone reading it.
        await eventually(async () => (await probe.dbsize()) === 0, IDLE + 10_000, 'DBSIZE 0 once every session has expired');
      }),
      { numRuns: 5, endOnFailure: true },
    );
    expect(totals.divergences).toBe(0);
    expect(totals.checks).toBeGreaterThan(0);
  }, 120_000);
});

describe('@tidykv/session save outcomes the model relies on', () => {
  let redis: RedisProcess;
  let app: FaultApp;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    app = await startFaultApp({ connection: { url: redis.url } });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('deleting an attribute the session does not have reports unchanged, not buffered, and writes nothing', async () => {
    const a = new Agent(app.url);
    expect((await a.post('/f/write-save', { n: 1 })).body).toMatchObject({ status: 'created' });
    const { result, counts } = await countCommands(redis.client(), () => a.post('/f/delete/missing'));
    expect(result.body).toMatchObject({ status: 'unchanged' });
    // Only the load (HGETALL, no touch due) reached Redis: no write for an empty delta.
    expect(counts.evalsha ?? 0).toBe(0);
    expect(counts.hgetall).toBe(1);
  });
});
