import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { Id, Indexed, RedisEntity, RepositoryContext } from '@tidykv/repository';
import { startRedis, type RedisTestServer } from '@tidykv/testing';
import { findOrphans, fixLeaks } from '../src/index.js';

@RedisEntity({ keyspace: 'audit-token', ttl: 3600 })
class Token {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
}

// The default index rules against keys written by @tidykv/repository itself, not a hand-made copy:
// an entity evicted behind the library's back leaves a dangling index member the auditor must find.
describe('default rules on real @tidykv/repository indexes', () => {
  let server: RedisTestServer;
  let raw: Redis;
  let ctx: RepositoryContext;
  let conn: RedisConnection;
  let dir: string;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    raw = server.client();
    ctx = RepositoryContext.create({ connection: { url: server.url } });
    conn = RedisConnection.create({ url: server.url });
    dir = mkdtempSync(join(tmpdir(), 'tidykv-audit-layouts-'));
  });
  afterAll(async () => {
    await ctx.close();
    await conn.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds and prunes index members whose entity was evicted, and nothing else', async () => {
    const tokens = ctx.repository(Token);
    const ids = ['t1', 't2', 'a b@c', 't4', 'ünï', 't6'];
    for (const id of ids) await tokens.save(Object.assign(new Token(), { id, userId: 'alice' }));
    // Eviction, FLUSH of a replica, a failover losing writes: the hashes go, the index stays.
    for (const id of ['t2', 'a b@c', 'ünï']) expect(await raw.unlink(tokens.keyOf(id))).toBe(1);

    const r = await findOrphans(conn);
    expect(r.totals).toEqual({ index: { keys: 1, deadMembers: 3, memoryBytes: expect.any(Number) } });
    expect(r.findings[0]).toMatchObject({ rule: 'tidykv-repository-index', members: 6, deadMembers: 3 });

    const f = await fixLeaks(conn, { pruneOrphans: true, apply: true, logFile: join(dir, 'fix.jsonl') });
    expect(f.prune).toMatchObject({ membersRemoved: 3, membersKept: 0 });
    const live = (await tokens.findBy('userId', 'alice')).map((t) => t.id).sort();
    expect(live).toEqual(['t1', 't4', 't6']);
    expect((await raw.zrange(r.findings[0].key, '0', '-1')).sort()).toEqual(['t1', 't4', 't6']);
    // The index keeps the expiry the library gave it.
    expect(await raw.pttl(r.findings[0].key)).toBeGreaterThan(3_500_000);
  });
});
