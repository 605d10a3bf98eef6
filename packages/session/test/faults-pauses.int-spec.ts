import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { debugSleep, pauseClients, RedisProcess } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { probeOperations, reportLine, startFaultApp, watchEventLoop, type OperationRecord, type SeenError } from './support/fault-app.js';
import { attempt, checkIncrements, checkWrites, halfWrittenSessions, loopUntil, pairOf, runFor, snapshot, tally, type Attempt, type IncrementCheck, type Snapshot, type WriteCheck } from './support/fault-ledger.js';
import { Agent } from './support/session-app.js';

// Redis stops answering while the connection stays up: CLIENT PAUSE (every command, or only
// writes and scripts) and DEBUG SLEEP (the whole server blocked, as a slow command or a fork would).
// The commands sent meanwhile are held, answered late, and run after tidykv has answered for them:
// that is where "503 TIDYKV_UNAVAILABLE" must still mean that nothing was applied.
const COMMAND_TIMEOUT_MS = 400;
// Scheduling slack on top of the deadline: a loaded 2-core machine delays timers and sockets. The
// deadline is a timer, so when this process was starved for longer (the event loop's worst delay,
// measured during the run), the bound grows by that much: a late timer is not a late deadline.
const MARGIN_MS = 300;
const bound = (eventLoopMaxDelayMs: number): number => COMMAND_TIMEOUT_MS + Math.max(MARGIN_MS, eventLoopMaxDelayMs + 50);
const FAULT_MS = 1_200;

type Fault = 'CLIENT PAUSE ALL' | 'CLIENT PAUSE WRITE' | 'DEBUG SLEEP';

interface Outcome {
  readonly writes: Attempt[];
  readonly increments: Attempt[];
  readonly operations: OperationRecord[];
  readonly errors: SeenError[];
  readonly finals: Attempt[];
  readonly snap: Snapshot;
  readonly writeCheck: WriteCheck;
  readonly incrementCheck: IncrementCheck;
  readonly eventLoop: { maxDelayMs: number; p99DelayMs: number };
}

describe.each(['CLIENT PAUSE ALL', 'CLIENT PAUSE WRITE', 'DEBUG SLEEP'] as Fault[])('@tidykv/session during %s while it writes', (fault) => {
  let redis: RedisProcess;
  let o: Outcome;

  beforeAll(async () => {
    redis = await RedisProcess.start({ allowDebug: true });
    const probe: Redis = redis.client();
    const app = await startFaultApp({ connection: { url: redis.url, commandTimeoutMs: COMMAND_TIMEOUT_MS } });
    try {
      const ops = probeOperations(app.connection);
      const loop = watchEventLoop();
      const writes: Attempt[] = [];
      const increments: Attempt[] = [];
      const writers = Array.from({ length: 4 }, () => new Agent(app.url));
      const counters = Array.from({ length: 4 }, () => new Agent(app.url));
      // Every agent has its session before the fault, so that the fault hits writes to existing sessions.
      await Promise.all(counters.map((a, i) => attempt(increments, i, a, -1, 'POST', '/f/incr/n')));
      let stopped = false;
      const stop = (): boolean => stopped;
      const traffic = Promise.all([
        ...writers.map((a, i) => loopUntil(stop, 10, async (seq) => void (await attempt(writes, i, a, seq, 'POST', '/f/write', Object.fromEntries(pairOf(i, seq).map((f) => [f, seq])))))),
        // Newcomers: a visitor without a session writes, so the save (a create) is sent with no
        // load before it, straight into the fault.
        ...[100, 101].map((n) => loopUntil(stop, 10, async (seq) => void (await attempt(writes, n, new Agent(app.url), seq, 'POST', '/f/write', Object.fromEntries(pairOf(n, seq).map((f) => [f, seq])))))),
        ...counters.map((a, i) => loopUntil(stop, 10, async (seq) => void (await attempt(increments, i, a, seq, 'POST', '/f/incr/n')))),
      ]);
      await runFor(400);
      if (fault === 'DEBUG SLEEP') await debugSleep(redis, FAULT_MS);
      else {
        await pauseClients(redis, FAULT_MS, fault === 'CLIENT PAUSE ALL' ? 'ALL' : 'WRITE');
        await runFor(FAULT_MS);
      }
      await runFor(400);
      stopped = true;
      await traffic;
      const eventLoop = loop.stop();
      // One more write per agent: answered only once Redis has run everything sent before it on
      // the same connection, including the commands it held during the fault.
      const finals: Attempt[] = [];
      await Promise.all([
        ...writers.map((a, i) => attempt(finals, i, a, 10_000, 'POST', '/f/write', { final: true })),
        ...counters.map((a, i) => attempt(finals, i, a, 10_000, 'GET', '/f/read')),
      ]);
      const snap = await snapshot(probe, 'tkv:');
      o = {
        writes,
        increments,
        operations: ops.records,
        errors: app.state.errors,
        finals,
        snap,
        writeCheck: checkWrites(writes, snap, () => true),
        incrementCheck: checkIncrements(increments, snap, 'n', () => true),
        eventLoop,
      };
    } finally {
      await app.close();
    }
    const failedOps = o.operations.filter((r) => r.outcome !== 'ok');
    const failedRequests = [...o.writes, ...o.increments].filter((a) => a.answer !== 'ok');
    const t = tally([...o.writes, ...o.increments]);
    reportLine(fault, {
      requests: o.writes.length + o.increments.length + o.finals.length,
      writes: o.writes.length,
      increments: o.increments.length,
      redisOperations: o.operations.length,
      faultMs: FAULT_MS,
      answered200: t.ok,
      answered503Unavailable: t.unavailable,
      answered503OutcomeUnknown: t.unknown,
      answeredOther: t.other,
      worstOperationTimeToFailMs: Math.max(0, ...failedOps.map((r) => r.ms)),
      worstRequestTimeToFailMs: Math.max(0, ...failedRequests.map((a) => a.ms)),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      eventLoopMaxDelayMs: o.eventLoop.maxDelayMs,
      divergences:
        o.writeCheck.appliedAfterUnavailable.length +
        o.writeCheck.torn.length +
        o.writeCheck.lostAcknowledged.length +
        o.incrementCheck.overCounted.length +
        o.incrementCheck.underCounted.length +
        halfWrittenSessions(o.snap).length +
        o.snap.withoutTtl.length,
      outcomeUnknownWritesApplied: o.writeCheck.unknownApplied,
      outcomeUnknownWritesNotApplied: o.writeCheck.unknownNotApplied,
      outcomeUnknownIncrementsApplied: o.incrementCheck.unknownApplied,
      outcomeUnknownIncrements: o.incrementCheck.unknown,
    });
  }, 60_000);
  afterAll(async () => {
    await redis?.close();
  });

  it('makes requests fail while it lasts, and only with 503 and a typed code', () => {
    const failed = [...o.writes, ...o.increments].filter((a) => a.answer !== 'ok');
    expect(failed.length).toBeGreaterThan(4);
    expect(failed.filter((a) => a.answer === 'other').map((a) => `${a.status} ${a.code}`)).toEqual([]);
    expect(o.errors.filter((e) => e.status === 500)).toEqual([]);
  });

  it('fails every Redis operation within commandTimeoutMs plus a small margin of its issue', () => {
    const failed = o.operations.filter((r) => r.outcome !== 'ok');
    expect(failed.filter((r) => r.outcome !== 'TIDYKV_UNAVAILABLE' && r.outcome !== 'TIDYKV_OUTCOME_UNKNOWN')).toEqual([]);
    expect(Math.max(...failed.map((r) => r.ms))).toBeLessThanOrEqual(bound(o.eventLoop.maxDelayMs));
  });

  it('applies no write answered 503 TIDYKV_UNAVAILABLE, even once Redis runs what it held', () => {
    expect(o.writeCheck.appliedAfterUnavailable).toEqual([]);
  });

  it('applies no increment twice (counters never exceed their 200 plus outcome-unknown answers)', () => {
    expect(o.incrementCheck.overCounted).toEqual([]);
  });

  it('keeps every acknowledged write and increment, whole', () => {
    expect(o.finals.every((a) => a.status === 200)).toBe(true);
    expect(o.writeCheck.torn).toEqual([]);
    expect(o.writeCheck.lostAcknowledged).toEqual([]);
    expect(o.incrementCheck.underCounted).toEqual([]);
    expect(halfWrittenSessions(o.snap)).toEqual([]);
    expect(o.snap.withoutTtl).toEqual([]);
  });
});
