import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, HttpCode, Module, Param, Post, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { RedisConnection, TidyKvKeys } from '@tidykv/core';
import { Id, Indexed, RedisEntity, RepositoryContext } from '@tidykv/repository';
import { HttpSession, Session, SessionModule, SessionService, type PrincipalSession } from '@tidykv/session';
import { listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
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

/** The smallest app that logs users in with @tidykv/session's principal index. */
@Controller()
class LoginController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login/:user')
  @HttpCode(200)
  login(@Session() s: HttpSession, @Param('user') user: string): { ok: true } {
    s.regenerate();
    s.set('userId', user);
    return { ok: true };
  }

  @Get('sessions/:user')
  list(@Param('user') user: string): Promise<PrincipalSession[]> {
    return this.sessions.listByPrincipal(user);
  }
}

@Module({})
class LoginAppModule {
  static register(url: string): DynamicModule {
    return {
      module: LoginAppModule,
      imports: [SessionModule.forRoot({ connection: { url }, secrets: ['audit-test-secret-audit-test-secret-0001'], principal: 'userId', idleTimeoutMs: 600_000 })],
      controllers: [LoginController],
    };
  }
}

// The default rules against the principal index @tidykv/session itself writes: sessions evicted
// behind the library's back leave members the auditor must find, and only those.
describe('default rules on a real @tidykv/session principal index', () => {
  let server: RedisTestServer;
  let raw: Redis;
  let app: INestApplication;
  let base: string;
  let conn: RedisConnection;
  let dir: string;
  const keys = new TidyKvKeys('tkv:');

  async function login(user: string): Promise<void> {
    const res = await fetch(`${base}/login/${user}`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().length).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    server = await startRedis({ own: true });
    raw = server.client();
    app = await NestFactory.create(LoginAppModule.register(server.url), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
    conn = RedisConnection.create({ url: server.url });
    dir = mkdtempSync(join(tmpdir(), 'tidykv-audit-sessions-'));
  });
  afterAll(async () => {
    await app.close();
    await conn.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds and prunes the index members of evicted sessions, and nothing else', async () => {
    for (const user of ['alice', 'alice', 'alice', 'alice', 'bob']) await login(user);
    const all = await listKeys(raw);
    const sessions = all.filter((k) => keys.parse(k.key)?.kind === 'session').map((k) => k.key);
    const indexes = all.filter((k) => keys.parse(k.key)?.kind === 'principal-index').map((k) => k.key);
    expect(sessions).toHaveLength(5);
    expect(indexes).toHaveLength(2);
    const alice = (await (await fetch(`${base}/sessions/alice`)).json()) as PrincipalSession[];
    expect(alice).toHaveLength(4);

    // A clean keyspace, as the library wrote it: nothing to report.
    expect((await findOrphans(conn)).findingsTotal).toBe(0);

    // Eviction or a lost write: two of alice's session hashes go, her index keeps their members.
    const evicted = alice.slice(0, 2).map((s) => keys.session(s.id));
    for (const k of evicted) expect(await raw.unlink(k)).toBe(1);
    const aliceIndex = keys.principalIndex(alice[0].id.slice(0, 4));

    const r = await findOrphans(conn);
    expect(r.totals).toEqual({ index: { keys: 1, deadMembers: 2, memoryBytes: expect.any(Number) } });
    expect(r.findings[0]).toMatchObject({ key: aliceIndex, rule: 'tidykv-session-principal', members: 4, deadMembers: 2 });

    const f = await fixLeaks(conn, { pruneOrphans: true, apply: true, logFile: join(dir, 'fix.jsonl') });
    expect(f.prune).toMatchObject({ membersRemoved: 2, membersKept: 0, keysUnlinked: 0 });
    const left = (await (await fetch(`${base}/sessions/alice`)).json()) as PrincipalSession[];
    expect(left.map((s) => s.id).sort()).toEqual(alice.slice(2).map((s) => s.id).sort());
    expect(await raw.zcard(aliceIndex)).toBe(2);
    expect((await findOrphans(conn)).findingsTotal).toBe(0);
  });
});
