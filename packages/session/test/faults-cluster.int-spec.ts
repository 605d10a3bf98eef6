import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keySlot, TidyKvKeys } from '@tidykv/core';
import { eventually, listKeys, startRedisCluster, type MasterKillReport, type RedisTestCluster } from '@tidykv/testing';
import type { Cluster } from 'ioredis';
import { probeOperations, reportLine, startFaultApp, watchEventLoop, type OperationRecord, type SeenError } from './support/fault-app.js';
import { attempt, idOfCookie, loopUntil, pairOf, runFor, tally, type Attempt } from './support/fault-ledger.js';
import { Agent } from './support/session-app.js';

// A master of a 3-shard cluster (one replica each) is killed with kill -9 under session traffic.
// Until its replica is promoted, the sessions in its slots cannot be served: they must fail with
// tidykv's typed errors only (never a plain "Too many Cluster redirections"), while the sessions
// of the other shards carry on untouched (cluster-require-full-coverage no: with Redis's default,
// yes, every shard refuses commands until the promotion). After the promotion every session works
// again, with no restart of the app.
const COMMAND_TIMEOUT_MS = 1_000;
// Scheduling slack on top of the deadline: a loaded 2-core machine delays timers and sockets. The
// deadline is a timer, so when this process was starved for longer (the event loop's worst delay,
// measured during the run), the bound grows by that much: a late timer is not a late deadline.
const MARGIN_MS = 300;
const bound = (eventLoopMaxDelayMs: number): number => COMMAND_TIMEOUT_MS + Math.max(MARGIN_MS, eventLoopMaxDelayMs + 50);
const keys = new TidyKvKeys('tkv:');

describe('@tidykv/session when a cluster master is killed (kill -9) under session traffic', () => {
  let cluster: RedisTestCluster;
  let probe: Cluster;
  let kill: MasterKillReport;
  const attempts: Attempt[] = [];
  const finals: Attempt[] = [];
  let operations: OperationRecord[] = [];
  let errors: SeenError[] = [];
  /** Shard (master index) of each agent's session, read before the kill. */
  const shardOf: number[] = [];
  let keysWithoutTtl: string[] = [];
  let readBack: boolean[] = [];
  let killedAt = 0;
  let eventLoop = { maxDelayMs: 0, p99DelayMs: 0 };
  let promotedAt = 0;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, requireFullCoverage: false });
    const app = await startFaultApp({ connection: { cluster: { nodes: cluster.seeds }, commandTimeoutMs: COMMAND_TIMEOUT_MS } });
    try {
      const ops = probeOperations(app.connection);
      const loop = watchEventLoop();
      // Which master serves each session, from the fixture's slot ranges (CLUSTER SLOTS of a live node).
      const ranges = (await cluster.nodeClient(1).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const masterPorts = cluster.nodes.filter((n) => n.role === 'master').map((n) => n.process.port);
      const shardOfAgent = (a: Agent): number => {
        const slot = keySlot(keys.session(idOfCookie(a.cookie) as string));
        const range = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
        return masterPorts.indexOf(Number(range?.[2][1]));
      };
      // Sessions land on random slots: enough visitors that the killed shard and the others each have six.
      const agents: Agent[] = [];
      while (agents.length < 60 && (shardOf.filter((s) => s === 0).length < 6 || shardOf.filter((s) => s > 0).length < 6)) {
        const a = new Agent(app.url);
        await attempt(attempts, agents.length, a, -1, 'POST', '/f/write', { start: agents.length });
        agents.push(a);
        shardOf.push(shardOfAgent(a));
      }
      let stopped = false;
      const stop = (): boolean => stopped;
      const traffic = Promise.all(
        agents.map((a, i) =>
          loopUntil(stop, 10, async (seq) => {
            const pair = Object.fromEntries(pairOf(i, seq).map((f) => [f, seq]));
            await attempt(attempts, i, a, seq, seq % 3 === 2 ? 'GET' : 'POST', seq % 3 === 0 ? '/f/write' : seq % 3 === 1 ? '/f/incr/n' : '/f/read', seq % 3 === 0 ? pair : undefined);
          }),
        ),
      );
      await runFor(500);
      killedAt = performance.now();
      kill = await cluster.killMaster(0);
      promotedAt = performance.now();
      // Every agent of the killed shard is answered 200 again, with no restart of the app.
      await eventually(
        () => shardOf.every((s, i) => s !== 0 || attempts.some((x) => x.agent === i && x.answer === 'ok' && x.startedAt > promotedAt)),
        20_000,
        'the killed shard to serve again',
      );
      await runFor(300);
      stopped = true;
      await traffic;
      eventLoop = loop.stop();
      // Full recovery: every agent writes and reads back what it wrote.
      await Promise.all(agents.map((a, i) => attempt(finals, i, a, 100_000, 'POST', '/f/write', { final: i })));
      const reads = await Promise.all(agents.map((a, i) => attempt(finals, i, a, 100_001, 'GET', '/f/read')));
      readBack = reads.map((r, i) => (r.body as { attributes?: Record<string, unknown> } | undefined)?.attributes?.final === i);
      operations = ops.records;
      errors = app.state.errors;
    } finally {
      await app.close();
    }
    // A client made after the failover: an idle one may still list the dead master among its nodes.
    probe = cluster.client();
    await new Promise((resolve) => probe.once('ready', resolve));
    keysWithoutTtl = (await listKeys(probe)).filter((k) => k.pttl === -1).map((k) => k.key);
    const window = attempts.filter((a) => a.startedAt >= killedAt && a.startedAt <= promotedAt);
    const t = tally(attempts);
    const failedOps = operations.filter((r) => r.outcome !== 'ok');
    reportLine('cluster master killed', {
      requests: attempts.length + finals.length,
      redisOperations: operations.length,
      faults: 1,
      promotedAfterMs: kill.promotedAfterMs,
      agentsOnKilledShard: shardOf.filter((s) => s === 0).length,
      agentsOnOtherShards: shardOf.filter((s) => s !== 0).length,
      requestsInWindow: window.length,
      answered200: t.ok,
      answered503Unavailable: t.unavailable,
      answered503OutcomeUnknown: t.unknown,
      answeredOther: t.other,
      otherShardFailures: attempts.filter((a) => shardOf[a.agent] !== 0 && a.answer !== 'ok').length,
      untypedErrors: errors.filter((e) => e.code !== 'TIDYKV_UNAVAILABLE' && e.code !== 'TIDYKV_OUTCOME_UNKNOWN').length,
      worstOperationTimeToFailMs: Math.max(0, ...failedOps.map((r) => r.ms)),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      eventLoopMaxDelayMs: eventLoop.maxDelayMs,
    });
  }, 90_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('spreads the sessions over the killed shard and the others', () => {
    expect(shardOf.filter((s) => s === 0).length).toBeGreaterThanOrEqual(6);
    expect(shardOf.filter((s) => s > 0).length).toBeGreaterThanOrEqual(6);
    expect(shardOf.every((s) => s >= 0)).toBe(true);
  });

  it('answers the killed shard\'s requests in the window with 503 and a typed code only, never an untyped error', () => {
    const failed = attempts.filter((a) => a.answer !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((a) => a.answer === 'other').map((a) => `${a.status} ${a.code}`)).toEqual([]);
    expect(errors.filter((e) => e.code !== 'TIDYKV_UNAVAILABLE' && e.code !== 'TIDYKV_OUTCOME_UNKNOWN').map((e) => `${e.name}: ${e.message}`)).toEqual([]);
    expect(operations.filter((r) => r.outcome !== 'ok' && r.outcome !== 'TIDYKV_UNAVAILABLE' && r.outcome !== 'TIDYKV_OUTCOME_UNKNOWN')).toEqual([]);
  });

  it('fails each operation within commandTimeoutMs plus a small margin during the failover', () => {
    const failed = operations.filter((r) => r.outcome !== 'ok');
    expect(Math.max(...failed.map((r) => r.ms))).toBeLessThanOrEqual(bound(eventLoop.maxDelayMs));
  });

  it('leaves the sessions on the other shards unaffected', () => {
    expect(attempts.filter((a) => shardOf[a.agent] !== 0 && a.answer !== 'ok').map((a) => `${a.status} ${a.code}`)).toEqual([]);
  });

  it('recovers fully after the promotion: every session writes and reads back, and every key has a TTL', () => {
    expect(finals.map((a) => a.status)).toEqual(Array(shardOf.length * 2).fill(200));
    expect(readBack).toEqual(Array(shardOf.length).fill(true));
    expect(keysWithoutTtl).toEqual([]);
  });
});
