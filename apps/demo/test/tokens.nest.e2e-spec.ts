import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { dbSize, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { TokensModule } from '../src/tokens/tokens.module.js';

// The demo's token routes over HTTP (Express), against a private Redis.
describe('tokens routes', () => {
  let server: RedisTestServer;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    const moduleRef = await Test.createTestingModule({ imports: [TokensModule.register(server.url)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app?.close();
    await server.close();
  });

  const post = (body: unknown) => fetch(`${base}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('issues, lists and revokes every token of a user, leaving nothing behind', async () => {
    const issued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post({ userId: 'ada' });
      expect(res.status).toBe(201);
      issued.push(((await res.json()) as { token: string }).token);
    }
    expect((await post({ userId: 'bob' })).status).toBe(201);

    const list = await fetch(`${base}/tokens?userId=ada`);
    expect(list.status).toBe(200);
    const tokens = (await list.json()) as { token: string; issuedAt: string }[];
    expect(tokens.map((t) => t.token).sort()).toEqual([...issued].sort());
    expect(Number.isNaN(Date.parse(tokens[0].issuedAt))).toBe(false);

    const keys = await listKeys(server.client());
    // 4 token hashes + one index per user, every key with a TTL.
    expect(keys).toHaveLength(6);
    for (const k of keys) expect(k.pttl).toBeGreaterThan(0);

    const revoke = await fetch(`${base}/tokens?userId=ada`, { method: 'DELETE' });
    expect(revoke.status).toBe(204);
    expect(await (await fetch(`${base}/tokens?userId=ada`)).json()).toEqual([]);
    expect(((await (await fetch(`${base}/tokens?userId=bob`)).json()) as unknown[]).length).toBe(1);
    expect(await dbSize(server.client())).toBe(2);
  });

  it('answers 400 to a missing or malformed userId and writes nothing', async () => {
    const before = await dbSize(server.client());
    expect((await post({})).status).toBe(400);
    expect((await post({ userId: 'a{b}*' })).status).toBe(400);
    expect((await fetch(`${base}/tokens`)).status).toBe(400);
    expect((await fetch(`${base}/tokens?userId=`, { method: 'DELETE' })).status).toBe(400);
    expect(await dbSize(server.client())).toBe(before);
  });
});
