import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectionIds, debugSleep, eventually, RedisProcess } from '@tidykv/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { Gate, probeOperations, startFaultApp, type FaultApp } from './support/fault-app.js';
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
