import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countCommands, dbSize, listKeys, startRedis, startRedisCluster, type RedisTestCluster, type RedisTestServer } from '../src/index.js';

describe('standalone fixture', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true });
  });
  afterAll(() => server.close());

  it('serves a real Redis on a private port', async () => {
    expect(server.port).not.toBe(6379);
    const c = server.client();
    await c.set('k', 'v', 'PX', 5000);
    await c.set('leak', 'v');
    expect(await dbSize(c)).toBe(2);
    const keys = await listKeys(c);
    expect(keys.map((k) => [k.key, k.type, k.pttl > 0])).toEqual([
      ['k', 'string', true],
      ['leak', 'string', false],
    ]);
    expect(keys[1].pttl).toBe(-1);
  });

  it('counts the commands a piece of code sends', async () => {
    const c = server.client();
    const { counts, total } = await countCommands(c, async () => {
      await c.hset('h', 'a', '1');
      await c.hgetall('h');
      await c.hgetall('h');
    });
    expect(counts).toEqual({ hset: 1, hgetall: 2 });
    expect(total).toBe(3);
  });

  it('stops and starts the server mid-test, empty afterwards', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 });
    await c.set('before', '1');
    await server.stop();
    await expect(c.get('before')).rejects.toThrow();
    await server.start();
    expect(await c.get('before')).toBeNull();
  });
});

describe('cluster fixture', () => {
  let cluster: RedisTestCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  }, 60_000);
  afterAll(() => cluster.close());

  it('runs 3 masters with a replica each and serves every slot', async () => {
    const c = cluster.client();
    const masters = cluster.nodes.filter((n) => n.role === 'master');
    expect(masters).toHaveLength(3);
    expect(cluster.nodes).toHaveLength(6);
    for (let i = 0; i < 30; i++) await c.set(`key-${i}`, String(i));
    expect(await dbSize(c)).toBe(30);
    const spread = await Promise.all(c.nodes('master').map((n) => n.dbsize()));
    expect(spread.filter((n) => n > 0).length).toBe(3);
  });

  it('fails a master over to its replica', async () => {
    await cluster.failover(0);
    const c = cluster.client();
    await c.set('after-failover', '1');
    expect(await c.get('after-failover')).toBe('1');
  }, 30_000);
});
