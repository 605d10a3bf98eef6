import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { listKeys, startRedis, startRedisCluster, startRedisSentinel, type RedisTestCluster, type RedisTestSentinel, type RedisTestServer } from '@tidykv/testing';
import { KeyBuilder, LuaScriptSet, RedisConnection, RedisUnavailableError, TidyKvConfigError, escapeGlob } from '../src/index.js';

import * as testScripts from './lua/scripts.generated.js';

const scripts = new LuaScriptSet<'setWithTtl'>(testScripts, 'coretest');

async function runScriptAndCheck(conn: RedisConnection, tag: string): Promise<void> {
  scripts.attach(conn.client);
  const keys = new KeyBuilder('t:');
  const k1 = keys.tagged('a', tag);
  const k2 = keys.tagged('a', tag, 'twin');
  expect(await conn.run('set', (c) => scripts.run(c, 'setWithTtl', [k1, k2], ['v', 5000]))).toBe(2);
  expect(await conn.run('set', (c) => scripts.run(c, 'setWithTtl', [k1, k2], ['v', 5000]))).toBe(-1);
  for (const k of [k1, k2]) {
    const pttl = await conn.client.pttl(k);
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
  }
}

describe('RedisConnection on standalone Redis', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true });
  });
  afterAll(() => server.close());

  it('connects by url and runs a script whose keys carry their TTL', async () => {
    const conn = RedisConnection.create({ url: server.url });
    expect(conn.owned).toBe(true);
    await runScriptAndCheck(conn, 'by-url');
    await conn.close();
    expect(conn.client.status).toBe('end');
  });

  it('connects by host and port', async () => {
    const conn = RedisConnection.create({ host: server.host, port: server.port, db: 2 });
    await runScriptAndCheck(conn, 'by-host');
    const other = server.client({ db: 2 });
    expect(await other.exists(new KeyBuilder('t:').tagged('a', 'by-host'))).toBe(1);
    await conn.close();
  });

  it('uses a client the app owns and never closes it', async () => {
    const own = server.client();
    const conn = RedisConnection.create({ client: own });
    expect(conn.owned).toBe(false);
    await runScriptAndCheck(conn, 'app-owned');
    await conn.close();
    expect(await own.ping()).toBe('PONG');
  });

  it('keeps scripts working after SCRIPT FLUSH', async () => {
    const conn = RedisConnection.create({ url: server.url });
    await runScriptAndCheck(conn, 'before-flush');
    await conn.client.script('FLUSH');
    await runScriptAndCheck(conn, 'after-flush');
    await conn.close();
  });

  it('keeps scripts working after a server restart, with no new connection', async () => {
    const conn = RedisConnection.create({ url: server.url, redisOptions: { maxRetriesPerRequest: 20 } });
    await runScriptAndCheck(conn, 'before-restart');
    await server.restart();
    const sha = createHash('sha1').update(scripts.get('setWithTtl').source.lua).digest('hex');
    expect(await conn.run('script exists', (c) => (c as Redis).script('EXISTS', sha))).toEqual([0]);
    await runScriptAndCheck(conn, 'after-restart');
    await conn.close();
  });

  it('fails fast with RedisUnavailableError while the server is down', async () => {
    const conn = RedisConnection.create({ url: server.url, commandTimeoutMs: 300 });
    expect(await conn.run('ping', (c) => c.ping())).toBe('PONG');
    await server.stop();
    try {
      const started = Date.now();
      await expect(conn.run('ping', (c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await server.start();
    }
    await conn.close();
  });

  it('keeps hostile ids apart: no collision, and a SCAN for one id matches only its own key', async () => {
    const c = server.client();
    await c.flushall();
    const keys = new KeyBuilder('h:');
    const ids = ['a', 'a*', '*', 'a?', '[a]', 'a:b', 'a}b', '{a}', 'a b', 'ä', '%61', 'a\\'];
    for (const id of ids) await c.set(keys.tagged('x', id), id);
    expect(await c.dbsize()).toBe(ids.length);
    for (const id of ids) {
      expect(await c.get(keys.tagged('x', id))).toBe(id);
      const [, found] = await c.scan('0', 'MATCH', escapeGlob(keys.tagged('x', id)), 'COUNT', 1000);
      expect(found).toEqual([keys.tagged('x', id)]);
    }
  });
});

describe('RedisConnection on a 3-master Redis Cluster', () => {
  let cluster: RedisTestCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(() => cluster.close());

  it('connects from seed nodes and runs a multi-key script within one slot, for tags on every master', async () => {
    const conn = RedisConnection.create({ cluster: { nodes: cluster.seeds.map((s) => `${s.host}:${s.port}`) } });
    expect(conn.isCluster).toBe(true);
    for (let i = 0; i < 12; i++) await runScriptAndCheck(conn, `tag-${i}`);
    const perMaster = await Promise.all((conn.client as import('ioredis').Cluster).nodes('master').map((n) => n.dbsize()));
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect((await listKeys(conn.client)).every((k) => k.pttl > 0)).toBe(true);
    await conn.close();
  });

  it('uses a Cluster the app owns and never closes it', async () => {
    const own = cluster.client();
    const conn = RedisConnection.create({ client: own });
    await runScriptAndCheck(conn, 'cluster-owned');
    await conn.close();
    expect(own.status).toBe('ready');
  });
});

describe('RedisConnection through Sentinel', () => {
  let sentinel: RedisTestSentinel;
  beforeAll(async () => {
    sentinel = await startRedisSentinel('tidykv');
  }, 30_000);
  afterAll(() => sentinel.close());

  it('finds the master through Sentinel and runs a script on it', async () => {
    const conn = RedisConnection.create({ sentinels: sentinel.sentinels, name: sentinel.name });
    await runScriptAndCheck(conn, 'via-sentinel');
    const direct = sentinel.master.client();
    expect(await direct.exists(new KeyBuilder('t:').tagged('a', 'via-sentinel'))).toBe(1);
    await conn.close();
  });
});

describe('validateConnectionOptions', () => {
  const bad: [unknown, RegExp][] = [
    [undefined, /`connection`.*undefined.*an object/],
    [{}, /exactly one of url, host, sentinels, cluster or client/],
    [{ url: 'redis://a', host: 'b' }, /both url and host/],
    [{ url: 'http://localhost:6379' }, /`connection\.url`.*"http:\/\/localhost:6379".*redis:\/\/ or rediss:\/\//],
    [{ host: 'localhost', port: 70000 }, /`connection\.port`.*70000.*1 to 65535/],
    [{ sentinels: [{ host: 'a', port: 1 }] }, /`connection\.name`.*mymaster/],
    [{ sentinels: [] , name: 'm' }, /`connection\.sentinels`/],
    [{ cluster: { nodes: [] } }, /`connection\.cluster\.nodes`/],
    [{ cluster: { nodes: ['localhost'] } }, /`connection\.cluster\.nodes\[0\]`.*"host:port"/],
    [{ cluster: { nodes: ['a:1'] }, db: 3 }, /`connection\.db`.*Cluster has only database 0/],
    [{ client: { get: () => 1 } }, /`connection\.client`.*ioredis/],
    [{ url: 'redis://a', commandTimeoutMs: 0 }, /`connection\.commandTimeoutMs`.*positive/],
    [{ url: 'redis://a', tls: 'yes' }, /`connection\.tls`/],
  ];
  it.each(bad)('rejects %p with a message naming option, value and fix', (opts, message) => {
    let err: unknown;
    try {
      RedisConnection.create(opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TidyKvConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('accepts TLS, auth and db on a URL without connecting eagerly failing', () => {
    const conn = RedisConnection.create({ url: 'rediss://user:pw@127.0.0.1:1/3', tls: { rejectUnauthorized: false }, redisOptions: { lazyConnect: true } });
    const opts = (conn.client as Redis).options;
    expect(opts.tls).toEqual({ rejectUnauthorized: false });
    expect(opts.username).toBe('user');
    expect(opts.db).toBe(3);
    conn.client.disconnect();
  });
});
