import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TidyKvKeys } from '@tidykv/core';
import { connectionIds, debugSleep, eventually, killConnectionsPeriodically, listKeys, RedisProcess, type ConnectionKillReport } from '@tidykv/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { Gate, probeOperations, reportLine, startFaultApp, type FaultApp, type SeenError } from './support/fault-app.js';
import { attempt, checkIncrements, checkWrites, halfWrittenSessions, idOfCookie, loopUntil, pairOf, snapshot, type Attempt, type IncrementCheck, type Snapshot, type WriteCheck } from './support/fault-ledger.js';
import { Agent } from './support/session-app.js';

// A connection dropped at the worst moment: Redis has run the increment, its reply is still in
// the server's output buffer, and the connection is killed. DEBUG SLEEP lines the events up
// deterministically: while the server sleeps, the increment and then a CLIENT KILL of its
// connection arrive; when it wakes it runs the increment, then the kill, which discards the reply.
async function incrementThenDropReply(redis: RedisProcess, probe: Redis, app: FaultApp, agent: Agent, connectionName: string): Promise<{ status: number; body: unknown; killed: number }> {
  const ops = probeOperations(app.connection);
  const gate = new Gate();
  app.state.gate = gate;
  const answer = agent.post('/f/incr-gated/n');
  await gate.waiting;
  const [id] = await connectionIds(probe, connectionName);
  // The kill goes over a connection that has sent nothing else, so that Redis reads it after the
  // increment (it reads sockets in the order they became readable).
  const killer = redis.client();
  await killer.ping();
  const sleeping = debugSleep(redis, 1_500);
  // The server is asleep once a PING from another connection gets no answer.
  await eventually(async () => {
    const pong = probe.ping().then(() => false);
    return Promise.race([pong, new Promise<boolean>((r) => setTimeout(() => r(true), 60))]);
  }, 5_000, 'DEBUG SLEEP to block the server');
  gate.release();
  await eventually(() => ops.started.includes('session increment'), 5_000, 'the increment to be sent');
  const killed = killer.call('CLIENT', 'KILL', 'ID', id) as Promise<number>;
  await sleeping;
  const r = await answer;
  app.state.gate = undefined;
  const n = await killed;
  killer.disconnect();
  return { status: r.status, body: r.body, killed: n };
}

describe('@tidykv/session when a connection drops after Redis ran an increment', () => {
  let redis: RedisProcess;
  let probe: Redis;

  beforeAll(async () => {
    redis = await RedisProcess.start({ allowDebug: true });
    probe = redis.client();
  });
  afterAll(async () => {
    await redis?.close();
  });

  async function scenario(connection: () => { app: Promise<FaultApp>; name: string; close?: () => Promise<void> }): Promise<{ status: number; body: unknown; n: string | null; killed: number }> {
    await probe.flushall();
    const c = connection();
    const app = await c.app;
    try {
      const agent = new Agent(app.url);
      expect((await agent.post('/f/incr/n')).body).toMatchObject({ n: 1 });
      expect((await agent.post('/f/incr/n')).body).toMatchObject({ n: 2 });
      const r = await incrementThenDropReply(redis, probe, app, agent, c.name);
      // The session hash (a guarded increment also leaves its token keys, "...:op:<token>").
      const [key] = (await probe.keys('tkv:s:*')).filter((k) => !k.includes(':op:'));
      return { ...r, n: await probe.hget(key, 'n') };
    } finally {
      await app.close();
      await c.close?.();
    }
  }

  it("on tidykv's own connection the increment is applied once, and the answer does not claim success or nothing applied", async () => {
    const r = await scenario(() => ({ app: startFaultApp({ connection: { url: redis.url, commandTimeoutMs: 5_000 } }), name: 'tidykv-session' }));
    expect(r.killed).toBe(1);
    expect(r.n).toBe('3');
    // Sent, run by Redis, reply lost: the only honest answer is "outcome unknown".
    expect(r).toMatchObject({ status: 503, body: { code: 'TIDYKV_OUTCOME_UNKNOWN' } });
  });

  function appOwned(options: RedisOptions): () => { app: Promise<FaultApp>; name: string; close: () => Promise<void> } {
    return () => {
      const client = new Redis(redis.url, { connectionName: 'app-session-client', ...options });
      // The app owns this client, so listening to its errors is the app's job.
      client.on('error', () => undefined);
      return {
        app: startFaultApp({ connection: { client, commandTimeoutMs: 5_000 } }),
        name: 'app-session-client',
        close: async () => {
          client.disconnect();
        },
      };
    };
  }

  it('through an app-owned client with ioredis defaults (it re-sends the increment itself) the increment is applied once and answered 200', async () => {
    const r = await scenario(appOwned({}));
    expect(r.killed).toBe(1);
    expect(r.n).toBe('3');
    expect(r).toMatchObject({ status: 200, body: { n: 3 } });
  });

  it('through an app-owned client that fails in-flight commands on a drop (maxRetriesPerRequest 0) the increment is applied once', async () => {
    const r = await scenario(appOwned({ maxRetriesPerRequest: 0 }));
    expect(r.killed).toBe(1);
    expect(r.n).toBe('3');
    // tidykv retries the guarded increment on the new connection with the same token: the script
    // recognises it and replies with the first call's value.
    expect(r).toMatchObject({ status: 200, body: { n: 3 } });
  });
});

// Traffic as an operator would see it: logins, re-logins, saves, increments and principal listings
// while every connection named tidykv-session is killed every 250 ms. Two apps share the server:
// one on tidykv's own connection, one on an app-owned client with ioredis's defaults (it queues
// and re-sends unanswered commands itself), named tidykv-session too so the same kills hit it.
// One traffic run; the findings are computed once and each invariant is its own test.
describe('@tidykv/session while its connections are killed every 250 ms', () => {
  const TRAFFIC_MS = 3_000;
  let redis: RedisProcess;
  let probe: Redis;
  let killReport: ConnectionKillReport;
  let outside: string[] = [];
  const findings = new Map<string, Findings>();

  interface Run {
    readonly prefix: string;
    readonly logins: Attempt[];
    readonly relogins: Attempt[];
    readonly logouts: Attempt[];
    readonly saves: Attempt[];
    readonly increments: Attempt[];
    readonly listings: Attempt[];
    readonly agents: Agent[];
  }

  interface Findings {
    readonly run: Run;
    readonly loginsFailed: string[];
    readonly loginsWithoutCookie: number;
    readonly idempotentFailed: string[];
    readonly untypedErrors: SeenError[];
    readonly orphans: string[];
    readonly silentlyLoggedOut: string[];
    readonly withoutTtl: string[];
    readonly strangers: string[];
    readonly halfWritten: string[];
    readonly indexMismatches: string[];
    readonly writes: WriteCheck;
    readonly increments: IncrementCheck;
    readonly incrementsFailed: string[];
  }

  async function drive(app: FaultApp, prefix: string, stop: () => boolean): Promise<Run> {
    const run: Run = { prefix, logins: [], relogins: [], logouts: [], saves: [], increments: [], listings: [], agents: [] };
    const loginAgents = Array.from({ length: 5 }, () => new Agent(app.url));
    const writeAgents = Array.from({ length: 3 }, () => new Agent(app.url));
    const incrAgents = Array.from({ length: 3 }, () => new Agent(app.url));
    run.agents.push(...loginAgents, ...writeAgents, ...incrAgents);
    const lister = new Agent(app.url);
    await Promise.all([
      ...loginAgents.map((a, i) =>
        loopUntil(stop, 5, async (round) => {
          // A new visitor logs in, re-logs in twice (a new id each time), then logs out and comes back.
          if (a.cookie === undefined) await attempt(run.logins, i, a, round, 'POST', '/f/login', { userId: `u${i % 3}` });
          else if (round % 4 === 3) await attempt(run.logouts, i, a, round, 'POST', '/f/logout');
          else await attempt(run.relogins, i, a, round, 'POST', '/f/login', { userId: `u${i % 3}` });
        }),
      ),
      ...writeAgents.map((a, i) =>
        loopUntil(stop, 5, async (seq) => {
          const [x, y] = pairOf(i, seq);
          await attempt(run.saves, i, a, seq, 'POST', '/f/write', { [x]: seq, [y]: seq });
        }),
      ),
      ...incrAgents.map((a, i) =>
        loopUntil(stop, 5, async (seq) => {
          await attempt(run.increments, i, a, seq, 'POST', '/f/incr/n');
        }),
      ),
      loopUntil(stop, 20, async (seq) => {
        await attempt(run.listings, 0, lister, seq, 'GET', `/f/principal/${JSON.stringify(`u${seq % 3}`)}`);
      }),
    ]);
    return run;
  }

  function judge(run: Run, snap: Snapshot, errors: readonly SeenError[]): Findings {
    const logins = [...run.logins, ...run.relogins];
    const held = new Set(run.agents.map((a) => idOfCookie(a.cookie)).filter((id): id is string => id !== undefined));
    const stored = new Set(snap.sessions.keys());
    // The principal index: every live member names an existing session of that principal, and
    // every session with a principal has its live member.
    const keys = new TidyKvKeys(run.prefix);
    const now = Date.now();
    const indexMismatches: string[] = [];
    const listed = new Set<string>();
    for (const idx of snap.indexes) {
      for (const [member, score] of idx.members) {
        if (score < now) continue;
        const m = keys.parsePrincipalMember(member);
        if (!m || snap.sessions.get(m.id)?.fields.userId !== m.rawPrincipal) indexMismatches.push(`${idx.key} ${member}`);
        else listed.add(m.id);
      }
    }
    for (const s of snap.sessions.values()) if (s.fields.userId !== undefined && !listed.has(s.id)) indexMismatches.push(`${s.key} not listed`);
    return {
      run,
      loginsFailed: logins.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.code}`),
      loginsWithoutCookie: logins.filter((a) => !a.setCookie).length,
      idempotentFailed: [...run.logouts, ...run.saves, ...run.listings].filter((a) => a.answer !== 'ok').map((a) => `${a.status} ${a.code}`),
      untypedErrors: errors.filter((e) => e.code !== 'TIDYKV_UNAVAILABLE' && e.code !== 'TIDYKV_OUTCOME_UNKNOWN'),
      orphans: [...stored].filter((id) => !held.has(id)),
      silentlyLoggedOut: [...held].filter((id) => !stored.has(id)),
      withoutTtl: snap.withoutTtl,
      strangers: snap.strangers,
      halfWritten: halfWrittenSessions(snap),
      indexMismatches,
      writes: checkWrites(run.saves, snap, () => true),
      increments: checkIncrements(run.increments, snap, 'n', () => true),
      incrementsFailed: run.increments.filter((a) => a.answer !== 'ok').map((a) => `${a.status} ${a.code}`),
    };
  }

  beforeAll(async () => {
    redis = await RedisProcess.start();
    probe = redis.client();
    // The deadline is generous here (the default is 2 s): what is under test is that a dropped
    // connection never fails a login, not how a starved CPU on a loaded test machine delays one.
    const own = await startFaultApp({ connection: { url: redis.url, commandTimeoutMs: 5_000 }, principal: 'userId', keyPrefix: 'own:' });
    const appClient = new Redis(redis.url, { connectionName: 'tidykv-session' });
    // The app owns this client, so listening to its errors is the app's job.
    appClient.on('error', () => undefined);
    const shared = await startFaultApp({ connection: { client: appClient, commandTimeoutMs: 5_000 }, principal: 'userId', keyPrefix: 'app:' });
    const ops = { own: probeOperations(own.connection), app: probeOperations(shared.connection) };
    try {
      const killer = await killConnectionsPeriodically(redis, { name: 'tidykv-session', everyMs: 250 });
      const until = performance.now() + TRAFFIC_MS;
      const stop = (): boolean => performance.now() > until;
      const [a, b] = await Promise.all([drive(own, 'own:', stop), drive(shared, 'app:', stop)]);
      killReport = await killer.stop();
      findings.set('own', judge(a, await snapshot(probe, 'own:', 'own:*'), own.state.errors));
      findings.set('app', judge(b, await snapshot(probe, 'app:', 'app:*'), shared.state.errors));
      outside = (await listKeys(probe, '*')).filter((k) => !k.key.startsWith('own:') && !k.key.startsWith('app:')).map((k) => k.key);
    } finally {
      await own.close();
      await shared.close();
      appClient.disconnect();
    }
    for (const [name, f] of findings) {
      const r = f.run;
      const o = ops[name as 'own' | 'app'].records;
      const divergences =
        f.loginsFailed.length + f.loginsWithoutCookie + f.idempotentFailed.length + f.untypedErrors.length + f.orphans.length + f.silentlyLoggedOut.length +
        f.withoutTtl.length + f.strangers.length + f.halfWritten.length + f.indexMismatches.length + f.writes.torn.length + f.writes.appliedAfterUnavailable.length +
        f.writes.lostAcknowledged.length + f.increments.overCounted.length + f.increments.underCounted.length;
      reportLine(`connection drops, ${name === 'own' ? "tidykv's connection" : 'app-owned auto-resending client'}`, {
        requests: r.logins.length + r.relogins.length + r.logouts.length + r.saves.length + r.increments.length + r.listings.length,
        logins: r.logins.length,
        relogins: r.relogins.length,
        logouts: r.logouts.length,
        saves: r.saves.length,
        increments: r.increments.length,
        listings: r.listings.length,
        redisOperations: o.length,
        killRounds: killReport.rounds,
        connectionsKilled: killReport.killed,
        divergences,
        incrementsOutcomeUnknown: f.increments.unknown,
        slowestOperationMs: Math.max(0, ...o.map((x) => x.ms)),
      });
    }
  }, 60_000);
  afterAll(async () => {
    await redis?.close();
  });

  it('the kills happened while traffic ran', () => {
    expect(killReport.killed).toBeGreaterThanOrEqual(8);
    for (const f of findings.values()) expect(f.run.logins.length + f.run.relogins.length).toBeGreaterThanOrEqual(10);
  });

  it.each(['own', 'app'])('%s: no login or re-login answers 5xx, and every one sets the session cookie', (name) => {
    const f = findings.get(name) as Findings;
    expect(f.loginsFailed).toEqual([]);
    expect(f.loginsWithoutCookie).toBe(0);
  });

  it.each(['own', 'app'])('%s: logouts, saves and principal listings (all idempotent) never fail', (name) => {
    expect((findings.get(name) as Findings).idempotentFailed).toEqual([]);
  });

  it.each(['own', 'app'])('%s: every failure the app saw was a typed tidykv error', (name) => {
    expect((findings.get(name) as Findings).untypedErrors).toEqual([]);
  });

  it.each(['own', 'app'])('%s: no orphan session and no user silently logged out', (name) => {
    const f = findings.get(name) as Findings;
    expect(f.orphans).toEqual([]);
    expect(f.silentlyLoggedOut).toEqual([]);
  });

  it.each(['own', 'app'])('%s: every key has a TTL, sits inside the prefix in the key layout, and no session is half-written', (name) => {
    const f = findings.get(name) as Findings;
    expect(f.withoutTtl).toEqual([]);
    expect(f.strangers).toEqual([]);
    expect(f.halfWritten).toEqual([]);
    expect(outside).toEqual([]);
  });

  it.each(['own', 'app'])('%s: the principal index lists exactly the live sessions of each principal', (name) => {
    expect((findings.get(name) as Findings).indexMismatches).toEqual([]);
  });

  it.each(['own', 'app'])('%s: every save is applied whole, and every one answered 200 is in Redis', (name) => {
    const w = (findings.get(name) as Findings).writes;
    expect(w.torn).toEqual([]);
    expect(w.appliedAfterUnavailable).toEqual([]);
    expect(w.lostAcknowledged).toEqual([]);
  });

  it("own: an increment on tidykv's connection is never applied twice; failures are outcome-unknown only", () => {
    const f = findings.get('own') as Findings;
    expect(f.increments.overCounted).toEqual([]);
    expect(f.increments.underCounted).toEqual([]);
    expect(f.incrementsFailed.filter((x) => x !== '503 TIDYKV_OUTCOME_UNKNOWN')).toEqual([]);
  });

  it('app: through the auto-resending client every increment is answered 200 and the counters equal the 200 answers exactly', () => {
    const f = findings.get('app') as Findings;
    expect(f.incrementsFailed).toEqual([]);
    expect(f.increments.acked).toBe(f.run.increments.length);
    expect(f.increments.overCounted).toEqual([]);
    expect(f.increments.underCounted).toEqual([]);
  });
});
