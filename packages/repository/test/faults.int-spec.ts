import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Command, type Redis } from 'ioredis';
import { RedisUnavailableError, TidyKvOutcomeUnknownError } from '@tidykv/core';
import { eventually, flushAll, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { RepositoryContext, type EntityRepository } from '../src/index.js';
import { Device, make, RefreshToken, Setting, VerificationCodeWithoutIndex as Otp } from './support/entities.js';

// Issue 10 for the repository: every write is safe to re-send, a dropped connection never
// applies a write twice or applies one that answered "nothing was applied", and every failure is
// typed and comes within the deadline.

type Snapshot = { key: string; type: string; value: unknown; ttl: string }[];

/** Every key with its content and its TTL in whole seconds (re-sends run within the same second). */
async function snapshot(redis: Redis): Promise<Snapshot> {
  const out: Snapshot = [];
  for (const k of await listKeys(redis)) {
    const value = k.type === 'hash' ? await redis.hgetall(k.key) : k.type === 'zset' ? [...(await redis.zrange(k.key, '0', '-1'))].sort() : k.type;
    out.push({ key: k.key, type: k.type, value, ttl: k.pttl < 0 ? 'none' : `~${Math.round(k.pttl / 1000)}s` });
  }
  return out;
}

const WRITES = new Set(['evalsha', 'restore', 'pexpire', 'unlink']);

/**
 * Runs `fn` while every write command the client sends goes out twice: a copy first, then the
 * command itself. That is a re-send whose first attempt landed, the case a dropped connection
 * makes (RedisConnection.run re-sends idempotent writes), minus the lost reply.
 */
async function withEveryWriteSentTwice<T>(client: Redis, fn: () => Promise<T>): Promise<{ result: T; copies: number }> {
  const send = client.sendCommand.bind(client);
  let copies = 0;
  const copied: Promise<unknown>[] = [];
  (client as unknown as { sendCommand: typeof client.sendCommand }).sendCommand = (command, ...rest) => {
    if (WRITES.has(command.name)) {
      const copy = new Command(command.name, [...command.args]);
      send(copy, ...rest);
      copied.push(copy.promise.then(() => copies++));
    }
    return send(command, ...rest);
  };
  try {
    const result = await fn();
    await Promise.all(copied);
    return { result, copies };
  } finally {
    (client as unknown as { sendCommand: typeof client.sendCommand }).sendCommand = send;
  }
}

describe('repository writes under faults (standalone)', () => {
  let server: RedisTestServer;
  let inspect: Redis;
  beforeAll(async () => {
    server = await startRedis({ own: true });
    inspect = server.client();
  });
  afterAll(() => server.close());

  describe('a re-sent write leaves what the write leaves once', () => {
    let ctx: RepositoryContext;
    let devices: EntityRepository<Device>;
    let tokens: EntityRepository<RefreshToken>;
    let settings: EntityRepository<Setting>;
    let otps: EntityRepository<Otp>;
    beforeAll(async () => {
      ctx = RepositoryContext.create({ connection: { url: server.url } });
      devices = ctx.repository(Device);
      tokens = ctx.repository(RefreshToken);
      settings = ctx.repository(Setting);
      otps = ctx.repository(Otp);
    });
    afterAll(() => ctx.close());

    const seed = async () => {
      await flushAll(inspect);
      await devices.save(make(Device, { id: 'd1', userId: 'alice', platform: 'ios', label: 'old' }));
      await devices.save(make(Device, { id: 'd2', userId: 'alice', platform: 'web' }));
      await tokens.save(make(RefreshToken, { id: 't1', userId: 'bob', issuedAt: new Date(1) }));
      await settings.save(make(Setting, { id: 's1', value: 'v' }));
      await otps.save(make(Otp, { id: 'o1', code: '1' }));
      // Warm every script on this connection, so that the copies below are EVALSHAs of loaded scripts.
      await devices.update('d2', { label: 'x' });
      await devices.update('d2', { userId: 'alice' });
      await settings.update('s1', { value: 'v' });
      await devices.expire('d2', 60);
      await devices.persist('d2');
      await devices.save(make(Device, { id: 'd2', userId: 'alice', platform: 'web' }));
      await settings.save(make(Setting, { id: 's1', value: 'v' }));
      await devices.deleteById('none');
      await tokens.deleteBy('userId', 'none');
    };

    const cases: [string, () => Promise<unknown>][] = [
      ['save without @Indexed (RESTORE)', () => otps.save(make(Otp, { id: 'o1', code: '2' }))],
      ['save keeping the TTL (saveFields)', () => settings.save(make(Setting, { id: 's1', value: 'w' }))],
      ['save of a new indexed entity', () => devices.save(make(Device, { id: 'd3', userId: 'carol', platform: 'ios' }))],
      ['save moving an indexed value', () => devices.save(make(Device, { id: 'd1', userId: 'dave', platform: 'ios' }))],
      ['update of plain properties', () => devices.update('d1', { label: undefined, extra: 1 } as never)],
      ['update moving an indexed value', () => devices.update('d1', { userId: 'erin', platform: null })],
      ['update removing every property', () => settings.update('s1', { value: undefined })],
      ['expire without @Indexed', () => settings.expire('s1', 30)],
      ['expire with @Indexed', () => devices.expire('d1', 30)],
      ['persist', () => devices.persist('d1')],
      ['deleteById with @Indexed', () => devices.deleteById('d1')],
      ['deleteById without @Indexed', () => settings.deleteById('s1')],
      ['deleteMany', () => devices.deleteMany(['d1', 'd2'])],
      ['deleteBy', () => devices.deleteBy('userId', 'alice')],
    ];

    it.each(cases)('%s', async (_, write) => {
      await seed();
      await write();
      const once = await snapshot(inspect);
      await seed();
      const { copies } = await withEveryWriteSentTwice(ctx.connection.client as Redis, write);
      expect(copies).toBeGreaterThan(0);
      expect(await snapshot(inspect)).toEqual(once);
    });
  });

  describe('CLIENT KILL of the repository\'s connection every few hundred ms during writes', () => {
    const TIMEOUT_MS = 1000;
    // A failure may come this much after the deadline on a loaded machine (timers, GC).
    const MARGIN_MS = 750;
    const WRITERS = 12;
    const RUN_MS = 5000;

    interface Tally {
      ops: number;
      ok: number;
      unavailable: number;
      unknown: number;
      untyped: string[];
      late: number[];
      wrong: string[];
      kills: number;
      slowest: number;
      reconnects: number;
      sent: number;
    }
    let tally: Tally;

    beforeEach(() => flushAll(inspect));

    it('applies no write twice, none after "nothing applied", types every failure, and fails within the deadline', async () => {
      tally = { ops: 0, ok: 0, unavailable: 0, unknown: 0, untyped: [], late: [], wrong: [], kills: 0, slowest: 0, reconnects: 0, sent: 0 };
      const ctx = RepositoryContext.create({ connection: { url: server.url, commandTimeoutMs: TIMEOUT_MS } });
      const devices = ctx.repository(Device);
      const client = ctx.connection.client as Redis;
      client.on('ready', () => tally.reconnects++);
      // Every write of a Device is one script call when nothing fails: script calls beyond the
      // number of operations are re-sends after a kill (one writer per id, so no stale retries).
      const send = client.sendCommand.bind(client);
      (client as unknown as { sendCommand: typeof client.sendCommand }).sendCommand = (command, ...rest) => {
        if (command.name === 'evalsha' || command.name === 'eval') tally.sent++;
        return send(command, ...rest);
      };
      const stop = Date.now() + RUN_MS;
      const killer = (async () => {
        while (Date.now() < stop) {
          await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
          const list = (await inspect.client('LIST')) as string;
          for (const line of list.split('\n')) {
            const id = /\bid=(\d+)\b.*\bname=tidykv-repository\b/.exec(line)?.[1];
            if (id) {
              await inspect.client('KILL', 'ID', id).catch(() => undefined);
              tally.kills++;
            }
          }
        }
      })();

      // One writer per id, so that what each call may leave is known: the model is the set of
      // states the entity may be in. A call that succeeded settles it (every earlier command on
      // the connection has run by then): the stored state must be the call applied to one of the
      // candidates. "Unavailable" must have applied nothing, ever: the call is dropped from the
      // model, so a late landing would show at the next settlement. "Outcome unknown" adds the
      // call's result to the candidates (it may even land later, while still in flight).
      type State = { userId: string; platform: string; label: string } | null;
      type Op = { name: string; apply: (s: State) => State; call: () => Promise<unknown> };
      const stored = async (id: string): Promise<State> => {
        const h = await inspect.hgetall(devices.keyOf(id));
        if (Object.keys(h).length === 0) return null;
        return { userId: JSON.parse(h.userId) as string, platform: JSON.parse(h.platform) as string, label: JSON.parse(h.label) as string };
      };
      const key = (s: State) => JSON.stringify(s);
      const writer = async (w: number) => {
        const id = `w${w}`;
        let candidates: State[] = [null];
        let version = 0;
        while (Date.now() < stop) {
          version++;
          const roll = Math.random();
          const label = `v${version}`;
          const userId = `u${version % 3}`;
          let op: Op;
          if (roll < 0.45 || candidates.every((c) => c === null)) {
            const next = { userId, platform: `p${version % 2}`, label };
            op = { name: 'save', apply: () => next, call: () => devices.save(make(Device, { id, ...next })) };
          } else if (roll < 0.75) {
            op = { name: 'update', apply: (s) => (s === null ? null : { ...s, userId, label }), call: () => devices.update(id, { userId, label }) };
          } else if (roll < 0.85) {
            op = { name: 'expire', apply: (s) => s, call: () => devices.expire(id, 60 + (version % 30)) };
          } else {
            op = { name: 'delete', apply: () => null, call: () => devices.deleteById(id) };
          }
          const t0 = performance.now();
          tally.ops++;
          try {
            const result = await op.call();
            tally.ok++;
            // A boolean answer says whether the entity existed: only the candidates that agree remain.
            const before = typeof result === 'boolean' ? candidates.filter((c) => (c !== null) === result) : candidates;
            const expected = new Set(before.map((c) => key(op.apply(c))));
            const now = await stored(id);
            if (!expected.has(key(now))) tally.wrong.push(`${id} ${label} ${op.name} -> ${String(result)}: stores ${key(now)}, expected one of ${[...expected].join(' | ')}`);
            candidates = [now];
          } catch (err) {
            const ms = performance.now() - t0;
            tally.slowest = Math.max(tally.slowest, ms);
            if (ms > TIMEOUT_MS + MARGIN_MS) tally.late.push(Math.round(ms));
            if (err instanceof RedisUnavailableError) {
              tally.unavailable++;
            } else if (err instanceof TidyKvOutcomeUnknownError) {
              tally.unknown++;
              candidates = [...new Map([...candidates, ...candidates.map(op.apply)].map((c) => [key(c), c])).values()];
            } else {
              tally.untyped.push(`${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
              candidates = [await stored(id)];
            }
          }
        }
        // A read on the repository's connection runs after every write it sent: the state is settled.
        await eventually(() => devices.exists(id).then(() => true, () => false), 10_000, 'a read after the storm');
        const now = await stored(id);
        if (!candidates.some((c) => key(c) === key(now))) tally.wrong.push(`${id} at the end: stores ${key(now)}, expected one of ${candidates.map(key).join(' | ')}`);
        return { id, model: now };
      };
      try {
        const finals = await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
        await killer;
        // After the storm: the indexes hold exactly the live entities, and every key has a TTL.
        for (const userId of ['u0', 'u1', 'u2']) {
          const expected = finals.filter((f) => f.model?.userId === userId).map((f) => f.id).sort();
          expect((await devices.findBy('userId', userId)).map((d) => d.id).sort()).toEqual(expected);
          const members = await inspect.zrange(ctx.indexKey('device', 'userId', userId), '0', '-1');
          expect([...members].sort()).toEqual(expected);
        }
        for (const k of await listKeys(inspect)) expect(k.pttl).toBeGreaterThan(0);
      } finally {
        await ctx.close();
      }
      // Reported in the closing note of issue 10.
      console.log(`CLIENT KILL: ${JSON.stringify({ ...tally, untyped: tally.untyped.length, wrong: tally.wrong.length, late: tally.late.length, slowestMs: Math.round(tally.slowest) })}`);
      expect(tally.kills).toBeGreaterThan(5);
      expect(tally.reconnects).toBeGreaterThan(5);
      // The kills did catch operations in flight, which were re-sent.
      expect(tally.sent).toBeGreaterThan(tally.ops);
      expect(tally.wrong).toEqual([]);
      expect(tally.untyped).toEqual([]);
      expect(tally.late).toEqual([]);
    }, 60_000);
  });
});
