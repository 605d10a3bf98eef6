import { beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, RedisProcess } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import * as lua from '../src/lua/scripts.generated.js';
import { probeOperations, reportLine, startFaultApp, watchEventLoop, type FaultApp, type OperationRecord, type SeenError } from './support/fault-app.js';
import {
  attempt,
  checkIncrements,
  checkWrites,
  halfWrittenSessions,
  loopUntil,
  pairOf,
  runFor,
  snapshot,
  tally,
  type Attempt,
  type IncrementCheck,
  type Snapshot,
  type WriteCheck,
} from './support/fault-ledger.js';
import { Agent } from './support/session-app.js';

// Redis is killed with kill -9 in the middle of traffic, stays down, and is started again on the
// same port, once with the append-only file (appendfsync always: every acknowledged write is on
// disk) and once with nothing persisted. The app is never restarted.
const COMMAND_TIMEOUT_MS = 500;
// Scheduling slack on top of the deadline: a loaded 2-core machine delays timers and sockets. The
// deadline is a timer, so when this process was starved for longer (the event loop's worst delay,
// measured during the run), the bound grows by that much: a late timer is not a late deadline.
const MARGIN_MS = 300;
const bound = (eventLoopMaxDelayMs: number): number => COMMAND_TIMEOUT_MS + Math.max(MARGIN_MS, eventLoopMaxDelayMs + 50);
// A request's time is taken by a client in this same process, so one request can sit through two
// stalls (the server's deadline timer, then the client reading the answer): its bound allows both.
const requestBound = (eventLoopMaxDelayMs: number): number => COMMAND_TIMEOUT_MS + Math.max(MARGIN_MS, 2 * eventLoopMaxDelayMs + 50);
const DOWN_MS = 2_000;

interface Outcome {
  readonly writes: Attempt[];
  readonly increments: Attempt[];
  readonly logins: Attempt[];
  /** Requests sent after the kill and answered before the restart began. */
  readonly whileDown: Attempt[];
  /** The requests sent once traffic had stopped, one of each kind: they must all succeed. */
  readonly afterwards: Attempt[];
  readonly operations: OperationRecord[];
  readonly errors: SeenError[];
  readonly recoveredAfterMs: number;
  readonly scriptsCached: number[];
  readonly snap: Snapshot;
  readonly writeCheck: WriteCheck;
  readonly incrementCheck: IncrementCheck;
  readonly eventLoop: { maxDelayMs: number; p99DelayMs: number };
}

async function killAndRestartUnderTraffic(persistence: 'aof' | 'none'): Promise<Outcome> {
  const redis = await RedisProcess.start({ persistence });
  let app: FaultApp | undefined;
  try {
    const probe: Redis = redis.client();
    app = await startFaultApp({ connection: { url: redis.url, commandTimeoutMs: COMMAND_TIMEOUT_MS }, principal: 'userId' });
    const ops = probeOperations(app.connection);
    const loop = watchEventLoop();
    const writes: Attempt[] = [];
    const increments: Attempt[] = [];
    const logins: Attempt[] = [];
    const writers = Array.from({ length: 4 }, () => new Agent(app!.url));
    const counters = Array.from({ length: 3 }, () => new Agent(app!.url));
    const users = Array.from({ length: 3 }, () => new Agent(app!.url));
    let stopped = false;
    const stop = (): boolean => stopped;
    const traffic = Promise.all([
      ...writers.map((a, i) => loopUntil(stop, 10, async (seq) => void (await attempt(writes, i, a, seq, 'POST', '/f/write', Object.fromEntries(pairOf(i, seq).map((f) => [f, seq])))))),
      ...counters.map((a, i) => loopUntil(stop, 10, async (seq) => void (await attempt(increments, i, a, seq, 'POST', '/f/incr/n')))),
      ...users.map((a, i) => loopUntil(stop, 10, async (seq) => void (await attempt(logins, i, a, seq, 'POST', '/f/login', { userId: `user${i}` })))),
    ]);
    await runFor(600);
    await redis.kill();
    const killedAt = performance.now();
    await runFor(DOWN_MS);
    const restartingAt = performance.now();
    await redis.start();
    const restartedAt = performance.now();
    // Recovered once every writer has been answered 200 again, with no restart of the app.
    await eventually(
      () => [0, 1, 2, 3].every((i) => writes.some((a) => a.agent === i && a.answer === 'ok' && a.startedAt > restartedAt)),
      15_000,
      'every writer to be answered 200 after the restart',
    );
    const recoveredAfterMs = Math.min(...[...writes, ...increments, ...logins].filter((a) => a.answer === 'ok' && a.startedAt > restartedAt).map((a) => a.startedAt + a.ms)) - restartedAt;
    await runFor(300);
    stopped = true;
    await traffic;
    const eventLoop = loop.stop();
    const all = [...writes, ...increments, ...logins];

    // One of each after the traffic, on the restarted server: every script runs again.
    const afterwards: Attempt[] = [];
    const fresh = new Agent(app.url);
    await attempt(afterwards, 0, fresh, 0, 'POST', '/f/login', { userId: 'late' }); // createSession
    await attempt(afterwards, 0, fresh, 1, 'POST', '/f/login', { userId: 'late' }); // renameSession
    await attempt(afterwards, 0, fresh, 2, 'POST', '/f/write', { late: true }); // saveSessionDelta
    await attempt(afterwards, 0, fresh, 3, 'POST', '/f/incr/visits'); // incrementAttribute
    await attempt(afterwards, 0, fresh, 4, 'GET', `/f/principal/${JSON.stringify('late')}`); // listPrincipalSessions
    await attempt(afterwards, 0, fresh, 5, 'POST', '/f/logout'); // destroySession
    const shas = [lua.createSession, lua.renameSession, lua.saveSessionDelta, lua.incrementAttribute, lua.listPrincipalSessions, lua.destroySession].map((s) => s.sha1);
    const scriptsCached = (await probe.call('SCRIPT', 'EXISTS', ...shas)) as number[];

    const snap = await snapshot(probe, 'tkv:');
    // With AOF every acknowledged write must be there; without, only those answered after the restart.
    const writeCheck = checkWrites(writes, snap, (a) => persistence === 'aof' || a.startedAt + a.ms > restartedAt);
    const incrementCheck = checkIncrements(increments, snap, 'n', () => true);
    const whileDown = all.filter((a) => a.startedAt >= killedAt && a.startedAt + a.ms <= restartingAt);
    return {
      writes,
      increments,
      logins,
      whileDown,
      afterwards,
      operations: ops.records,
      errors: app.state.errors,
      recoveredAfterMs,
      scriptsCached,
      snap,
      writeCheck,
      incrementCheck,
      eventLoop,
    };
  } finally {
    await app?.close();
    await redis.close();
  }
}

describe.each([
  ['with AOF (appendfsync always)', 'aof' as const],
  ['with nothing persisted', 'none' as const],
])('@tidykv/session when Redis is killed (kill -9) and restarted during traffic, %s', (label, persistence) => {
  let o: Outcome;

  beforeAll(async () => {
    o = await killAndRestartUnderTraffic(persistence);
    const failedOps = o.operations.filter((r) => r.outcome !== 'ok');
    const t = tally([...o.writes, ...o.increments, ...o.logins]);
    reportLine(`restart ${label}`, {
      requests: o.writes.length + o.increments.length + o.logins.length + o.afterwards.length,
      writes: o.writes.length,
      increments: o.increments.length,
      logins: o.logins.length,
      redisOperations: o.operations.length,
      faults: 1,
      answered200: t.ok,
      answered503Unavailable: t.unavailable,
      answered503OutcomeUnknown: t.unknown,
      answeredOther: t.other,
      requestsWhileDown: o.whileDown.length,
      worstRequestTimeToFailWhileDownMs: Math.max(0, ...o.whileDown.map((a) => a.ms)),
      worstOperationTimeToFailMs: Math.max(0, ...failedOps.map((r) => r.ms)),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      eventLoopMaxDelayMs: o.eventLoop.maxDelayMs,
      recoveredAfterMs: o.recoveredAfterMs,
      divergences:
        o.writeCheck.appliedAfterUnavailable.length +
        o.writeCheck.torn.length +
        o.writeCheck.lostAcknowledged.length +
        o.incrementCheck.overCounted.length +
        o.incrementCheck.underCounted.length +
        halfWrittenSessions(o.snap).length +
        o.snap.withoutTtl.length +
        o.snap.strangers.length,
      outcomeUnknownWritesApplied: o.writeCheck.unknownApplied,
      outcomeUnknownWritesNotApplied: o.writeCheck.unknownNotApplied,
    });
  }, 60_000);

  it('while Redis is down every request answers 503 with a typed code within commandTimeoutMs plus a small margin', () => {
    expect(o.whileDown.length).toBeGreaterThanOrEqual(3);
    expect(o.whileDown.filter((a) => a.answer !== 'unavailable' && a.answer !== 'unknown').map((a) => `${a.status} ${a.code}`)).toEqual([]);
    expect(Math.max(...o.whileDown.map((a) => a.ms))).toBeLessThanOrEqual(requestBound(o.eventLoop.maxDelayMs));
  });

  it('every failed Redis operation, whenever it was issued, fails within commandTimeoutMs plus a small margin, and only with a typed error', () => {
    const failed = o.operations.filter((r) => r.outcome !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((r) => r.outcome !== 'TIDYKV_UNAVAILABLE' && r.outcome !== 'TIDYKV_OUTCOME_UNKNOWN')).toEqual([]);
    expect(Math.max(...failed.map((r) => r.ms))).toBeLessThanOrEqual(bound(o.eventLoop.maxDelayMs));
    expect(o.errors.filter((e) => e.status === 500)).toEqual([]);
  });

  it('the app recovers without a restart, its scripts included', () => {
    expect(o.afterwards.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 204]);
    expect(o.scriptsCached).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('leaves no half-written session, no key without a TTL and nothing outside the key layout', () => {
    expect(o.snap.sessions.size).toBeGreaterThan(0);
    expect(halfWrittenSessions(o.snap)).toEqual([]);
    expect(o.snap.withoutTtl).toEqual([]);
    expect(o.snap.strangers).toEqual([]);
  });

  it('no write answered "nothing applied" is in Redis, none is torn, and every acknowledged write the server kept is there', () => {
    expect(o.writeCheck.appliedAfterUnavailable).toEqual([]);
    expect(o.writeCheck.torn).toEqual([]);
    expect(o.writeCheck.lostAcknowledged).toEqual([]);
  });

  it('no increment is applied twice, and every acknowledged one the server kept is counted', () => {
    expect(o.incrementCheck.overCounted).toEqual([]);
    expect(o.incrementCheck.underCounted).toEqual([]);
  });
});
