import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countClientCommands, countCommands, dbSize, eventually, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, SECRET, startExpressApp, type TestApp } from './support/session-app.js';
import { expectAnswersKeepWritesAndCookies } from './support/shared-behaviours.js';

// Command budgets are asserted twice: from MONITOR (client commands only; commands a script runs
// are marked [lua] and ignored, so one script = one command) and from INFO commandstats (where
// EVALSHA/EVAL counts the scripts; the redis.call()s inside them are counted there too and are
// ignored by these assertions, which name the exact top-level commands expected). Scripts are
// warmed first so that ioredis's one-time NOSCRIPT fallback is not counted.
const scriptCalls = (counts: Record<string, number>): number => (counts.evalsha ?? 0) + (counts.eval ?? 0);

describe('@tidykv/session on Express, standalone Redis', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  const apps: TestApp[] = [];
  let app: TestApp;

  const start = async (o: Parameters<typeof startExpressApp>[0]): Promise<TestApp> => {
    const a = await startExpressApp(o);
    apps.push(a);
    return a;
  };
  const keyOf = async (): Promise<string> => {
    const keys = await listKeys(probe, 'tkv:s:*');
    expect(keys).toHaveLength(1);
    return keys[0].key;
  };
  const count = <T,>(fn: () => Promise<T>) => countClientCommands(redis.client(), fn);

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    app = await start({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 30_000 });
    // Warm the script cache (first EVALSHA falls back to EVAL once per script).
    const w = new Agent(app.url);
    await w.post('/s/set', { a: 1 });
    await w.post('/s/incr/n');
    await w.post('/s/regenerate');
    await w.post('/s/logout');
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await redis?.close();
  });

  it('a request that never writes creates nothing in Redis and sets no cookie', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    const { result, commands } = await count(async () => [await a.get('/s/none'), await a.get('/s/read')]);
    expect(result.map((r) => r.status)).toEqual([200, 200]);
    expect(result[1].body).toEqual({});
    expect(result.flatMap((r) => r.setCookie)).toEqual([]);
    expect(commands).toEqual([]);
    expect(await dbSize(probe)).toBe(0);
  });

  it('a request with a session that never uses it costs 0 commands', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const mon = await count(() => a.get('/s/none'));
    expect(mon.result.setCookie).toEqual([]);
    expect(mon.commands).toEqual([]);
  });

  it('creating a session costs one write and sets a signed HttpOnly SameSite=Lax cookie', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    const { result, commands } = await count(() => a.post('/s/set', { userId: 'u1', visits: 0 }));
    expect(result.status).toBe(200);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(/^evalsha /);
    expect(result.setCookie).toHaveLength(1);
    expect(result.setCookie[0]).toMatch(/^sid=[A-Za-z0-9_-]{26}\.[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    const [k] = await listKeys(probe);
    expect(k.type).toBe('hash');
    expect(k.pttl).toBeGreaterThan(59_000);
    const stats = await countCommands(probe, () => new Agent(app.url).post('/s/set', { n: 1 }));
    expect(scriptCalls(stats.counts)).toBe(1);
  });

  it('a read-only request loads in one command and reuses the loaded session however often it reads', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 7 });
    const mon = await count(() => a.get('/s/read-twice'));
    expect(mon.result.body).toEqual({ a: 7, b: 7 });
    expect(mon.commands).toHaveLength(1);
    const stats = await countCommands(probe, () => a.get('/s/read'));
    // This instance knows no touch is due, so the one command is a plain HGETALL: no script, no write.
    expect(stats.counts).toEqual({ hgetall: 1 });
    expect(stats.result.setCookie).toEqual([]);
  });

  it('a write request costs two commands and writes only the attributes that changed', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { userId: 'u1', big: 'x'.repeat(40) });
    const mon = await count(() => a.post('/s/incr/visits'));
    expect(mon.commands).toHaveLength(2);
    // A lean save (no touch due, no idle or principal change): one attribute set (visits = 1), nothing deleted.
    expect(mon.commands[1]).toMatch(/ 1 \S+ \d+ 1 0 visits 1$/);
    expect(mon.commands[1]).not.toContain('userId');
    expect(mon.commands[1]).not.toContain('xxxx');
    const stats = await countCommands(probe, () => a.post('/s/incr/visits'));
    // INFO commandstats, script-internal calls included: HGETALL (load) + EVALSHA (save) + the one
    // HSET inside it. Two round trips, three commands as Redis counts them.
    expect(stats.counts.hgetall).toBe(1);
    expect(scriptCalls(stats.counts)).toBe(1);
    expect(stats.counts.hset).toBe(1);
    expect(stats.total).toBe(3);
    expect(await probe.hget(await keyOf(), 'visits')).toBe('2');
  });

  it('the save completes before the response is sent', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 0 });
    const key = await keyOf();
    for (let i = 1; i <= 20; i++) {
      await a.post('/s/incr/n');
      // Read straight from Redis the moment the response is in: the write must already be there.
      expect(await probe.hget(key, 'n')).toBe(String(i));
    }
  });

  it('a read-only request writes nothing and leaves the TTL alone when no touch is due', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const key = await keyOf();
    await probe.pexpire(key, 50_000);
    const before = await probe.hget(key, '#a');
    const stats = await countCommands(probe, () => a.get('/s/read'));
    expect(stats.counts).toEqual({ hgetall: 1 });
    expect(await probe.pttl(key)).toBeLessThanOrEqual(50_000);
    expect(await probe.hget(key, '#a')).toBe(before);
  });

  it('a due touch re-arms the TTL and lastAccessedAt within the same single load command', async () => {
    const eager = await start({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 0, keyPrefix: 'eager:' });
    const a = new Agent(eager.url);
    await a.post('/s/set', { n: 1 });
    const [k] = await listKeys(probe, 'eager:s:*');
    await probe.pexpire(k.key, 5_000);
    // Pretend the session was created and last used an hour ago ('#a' is an offset from '#c').
    await probe.hset(k.key, '#c', String(Date.now() - 3_600_000), '#a', '0');
    const mon = await count(() => a.get('/s/read'));
    expect(mon.commands).toHaveLength(1);
    expect(await probe.pttl(k.key)).toBeGreaterThan(59_000);
    const lastAccessedAt = Number(await probe.hget(k.key, '#c')) + Number(await probe.hget(k.key, '#a'));
    expect(lastAccessedAt).toBeGreaterThan(Date.now() - 5_000);
  });

  it('lastAccessedAt never moves backwards', async () => {
    const eager = await start({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 0, keyPrefix: 'mono:' });
    const a = new Agent(eager.url);
    await a.post('/s/set', { n: 1 });
    const [k] = await listKeys(probe, 'mono:s:*');
    // As if another instance (or a server before a failover) had stamped a later time.
    const later = String(Date.now() + 3_600_000 - Number(await probe.hget(k.key, '#c')));
    await probe.hset(k.key, '#a', later);
    await a.get('/s/read');
    await a.post('/s/incr/n');
    expect(await probe.hget(k.key, '#a')).toBe(later);
  });

  it('touches at most once per touchInterval', async () => {
    const t = await start({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 1_500, keyPrefix: 'thr:' });
    const a = new Agent(t.url);
    await a.post('/s/set', { n: 1 });
    const [k] = await listKeys(probe, 'thr:s:*');
    const first = await probe.hget(k.key, '#a');
    const stats = await countCommands(probe, async () => {
      for (let i = 0; i < 10; i++) await a.get('/s/read');
    });
    expect(stats.counts.hset ?? 0).toBe(0);
    expect(await probe.hget(k.key, '#a')).toBe(first);
    await new Promise((r) => setTimeout(r, 1_600));
    const after = await countCommands(probe, async () => {
      for (let i = 0; i < 5; i++) await a.get('/s/read');
    });
    // Exactly one of the five reads was due.
    expect(after.counts.hset).toBe(1);
    expect(after.counts.pexpire).toBe(1);
    expect(Number(await probe.hget(k.key, '#a'))).toBeGreaterThan(Number(first));
  });

  it('a read never skips a due touch, whichever instance served the previous ones', async () => {
    const opts = { connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 300, keyPrefix: 'two:' };
    const a1 = await start(opts);
    const a2 = await start(opts);
    const u = new Agent(a1.url);
    await u.post('/s/set', { n: 1 });
    const [k] = await listKeys(probe, 'two:s:*');
    const lastAccessedAt = async (): Promise<number> => Number(await probe.hget(k.key, '#c')) + Number(await probe.hget(k.key, '#a'));
    const onA2 = u.clone();
    (onA2 as unknown as { base: string }).base = a2.url;
    const started = Date.now();
    while (Date.now() - started < 1_500) {
      // Alternate instances, as a load balancer without sticky sessions would.
      await (Math.random() < 0.5 ? u : onA2).get('/s/read');
      // lastAccessedAt trails the clock by at most one interval plus the gap between reads (slack
      // for a loaded machine); were a due touch ever skipped it would trail by up to the whole 1.5 s.
      expect(Date.now() - (await lastAccessedAt())).toBeLessThan(300 + 400);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('writes nothing when nothing changed and no touch is due', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const mon = await count(() => a.post('/s/set', {}));
    expect(mon.commands).toHaveLength(1);
  });

  it('save mode on-set ignores in-place mutation; on-get persists it; always rewrites everything', async () => {
    const onGet = await start({ connection: { url: redis.url }, saveMode: 'on-get', keyPrefix: 'onget:' });
    const always = await start({ connection: { url: redis.url }, saveMode: 'always', keyPrefix: 'always:' });
    const results: Record<string, unknown> = {};
    for (const [name, a] of [['on-set', new Agent(app.url)], ['on-get', new Agent(onGet.url)], ['always', new Agent(always.url)]] as const) {
      await a.post('/s/set', { list: [1] });
      await a.post('/s/push/list', { item: 2 });
      results[name] = (await a.get('/s/read')).body;
    }
    expect(results).toEqual({ 'on-set': { list: [1] }, 'on-get': { list: [1, 2] }, always: { list: [1, 2] } });
    // on-get writes nothing for attributes read but unchanged; always writes on every request.
    const g = new Agent(onGet.url);
    await g.post('/s/set', { list: [1] });
    expect((await count(() => g.get('/s/read'))).commands).toHaveLength(1);
    const al = new Agent(always.url);
    await al.post('/s/set', { list: [1] });
    const mon = await count(() => al.get('/s/read'));
    expect(mon.commands).toHaveLength(2);
    expect(mon.commands[1]).toMatch(/ 1 0 list \[1\]$/);
  });

  it('flush mode immediate writes at set time; on-save writes nothing for a failed handler', async () => {
    const imm = await start({ connection: { url: redis.url }, flushMode: 'immediate', keyPrefix: 'imm:' });
    const ai = new Agent(imm.url);
    await ai.post('/s/set', { n: 1 });
    expect((await ai.post('/s/set-then-fail', { x: 'kept' })).status).toBe(500);
    expect((await ai.get('/s/read')).body).toEqual({ n: 1, x: 'kept' });
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    expect((await a.post('/s/set-then-fail', { x: 'lost' })).status).toBe(500);
    expect((await a.get('/s/read')).body).toEqual({ n: 1 });
  });

  it('invalidate() deletes the session and clears the cookie; the old id then finds nothing', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { userId: 'u1' });
    const old = a.cookie;
    const r = await a.post('/s/logout');
    expect(r.status).toBe(204);
    expect(r.setCookie[0]).toMatch(/^sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
    expect(a.cookie).toBeUndefined();
    expect(await dbSize(probe)).toBe(0);
    const replay = new Agent(app.url);
    replay.cookie = old;
    expect((await replay.get('/s/read')).body).toEqual({});
    expect(await dbSize(probe)).toBe(0);
  });

  it('regenerate() gives a new id with the same data and TTL and the same hash slot, in one command', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { cart: [1, 2] });
    const oldKey = await keyOf();
    const oldCookie = a.cookie as string;
    const mon = await count(() => a.post('/s/regenerate'));
    expect(mon.commands).toHaveLength(2); // load + the atomic rename script
    expect(a.cookie).not.toBe(oldCookie);
    const newKey = await keyOf();
    expect(newKey).not.toBe(oldKey);
    expect(newKey.slice(0, 'tkv:s:{xxxx}'.length)).toBe(oldKey.slice(0, 'tkv:s:{xxxx}'.length));
    expect(await probe.exists(oldKey)).toBe(0);
    expect(await probe.pttl(newKey)).toBeGreaterThan(59_000);
    expect((await a.get('/s/read')).body).toEqual({ cart: [1, 2] });
    const stale = new Agent(app.url);
    stale.cookie = oldCookie;
    expect((await stale.get('/s/read')).body).toEqual({});
  });

  it('an idle session expires after its TTL and leaves no key behind', async () => {
    const short = await start({ connection: { url: redis.url }, idleTimeoutMs: 800, touchIntervalMs: 100, keyPrefix: 'idle:' });
    const agents = Array.from({ length: 20 }, () => new Agent(short.url));
    await Promise.all(agents.map((a) => a.post('/s/set', { userId: 'u', n: 1 })));
    expect((await listKeys(probe, 'idle:*')).every((k) => k.pttl > 0)).toBe(true);
    await eventually(async () => (await listKeys(probe, 'idle:*')).length === 0, 3_000, 'idle sessions to expire');
    expect((await agents[0].get('/s/read')).body).toEqual({});
  });

  it('the idle timeout can be overridden per session', async () => {
    const t = await start({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 100, keyPrefix: 'ovr:' });
    const a = new Agent(t.url);
    const b = new Agent(t.url);
    await a.post('/s/set', { n: 1 });
    await b.post('/s/set', { n: 1 });
    await a.post('/s/idle/700');
    const keys = await listKeys(probe, 'ovr:s:*');
    expect(keys.map((k) => k.pttl).sort((x, y) => x - y)[0]).toBeLessThanOrEqual(700);
    await eventually(async () => (await listKeys(probe, 'ovr:s:*')).length === 1, 3_000, 'the overridden session to expire');
    expect((await b.get('/s/read')).body).toEqual({ n: 1 });
    expect((await a.get('/s/read')).body).toEqual({});
  });

  it('an absolute timeout ends the session however active it is', async () => {
    const t = await start({ connection: { url: redis.url }, idleTimeoutMs: 1_000, absoluteTimeoutMs: 1_500, touchIntervalMs: 0, keyPrefix: 'abs:' });
    const a = new Agent(t.url);
    await a.post('/s/set', { n: 0 });
    const started = Date.now();
    let alive = true;
    while (alive && Date.now() - started < 4_000) {
      await new Promise((r) => setTimeout(r, 150));
      alive = (await a.get('/s/read')).body !== undefined && JSON.stringify((await a.get('/s/read')).body) !== '{}';
    }
    const lived = Date.now() - started;
    expect(alive).toBe(false);
    expect(lived).toBeGreaterThanOrEqual(1_300);
    expect(lived).toBeLessThan(2_500);
    expect(await listKeys(probe, 'abs:*')).toEqual([]);
  });

  it('lazy attributes are buffered until the next regular write, or until the touch interval has passed', async () => {
    const t = await start({ connection: { url: redis.url }, touchIntervalMs: 1_500, idleTimeoutMs: 60_000, lazyAttributes: ['lastPage'], keyPrefix: 'lazy:' });
    const a = new Agent(t.url);
    // 1.5 s interval: wide enough that a loaded machine cannot make a buffered value look due.
    await a.post('/s/set', { n: 1 });
    const [k] = await listKeys(probe, 'lazy:s:*');
    const r = await count(() => a.post('/s/set-and-save', { lastPage: '/a' }));
    expect(r.result.body).toEqual({ status: 'buffered' });
    expect(r.commands).toHaveLength(1);
    expect(await probe.hget(k.key, 'lastPage')).toBeNull();
    // The instance that buffered it still reads it back.
    expect((await a.get('/s/read')).body).toEqual({ n: 1, lastPage: '/a' });
    await a.post('/s/incr/n');
    expect(await probe.hget(k.key, 'lastPage')).toBe('"/a"');
    await a.post('/s/set', { lastPage: '/b' });
    expect(await probe.hget(k.key, 'lastPage')).toBe('"/a"');
    await new Promise((r2) => setTimeout(r2, 1_600));
    await a.post('/s/set', { lastPage: '/c' });
    expect(await probe.hget(k.key, 'lastPage')).toBe('"/c"');
    // A buffered value also goes out with the first read-only request once the interval has passed.
    await a.post('/s/set', { lastPage: '/d' });
    await a.get('/s/read');
    expect(await probe.hget(k.key, 'lastPage')).toBe('"/c"');
    await new Promise((r2) => setTimeout(r2, 1_600));
    await a.get('/s/read');
    expect(await probe.hget(k.key, 'lastPage')).toBe('"/d"');
  });

  it('the id can travel in a header for API clients', async () => {
    const h = await start({ connection: { url: redis.url }, transport: 'header', headerName: 'X-Session-Id', keyPrefix: 'hdr:' });
    const a = new Agent(h.url, 'sid', 'x-session-id');
    const r = await a.post('/s/set', { n: 5 });
    expect(r.setCookie).toEqual([]);
    expect(a.header).toMatch(/^[A-Za-z0-9_-]{26}\.[A-Za-z0-9_-]{22}$/);
    expect((await a.get('/s/read')).body).toEqual({ n: 5 });
    const other = new Agent(h.url, 'sid', 'x-session-id');
    expect((await other.get('/s/read')).body).toEqual({});
  });

  it('a malformed, unsigned or forged id means no session and costs no Redis call', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { userId: 'victim' });
    const [id, sig] = (a.cookie as string).split('.');
    const forged = ['garbage', id, `${id}.${'A'.repeat(22)}`, `${id.slice(0, -1)}B.${sig}`, `${id}.${sig}x`, `${'%'.repeat(49)}`];
    for (const value of forged) {
      const f = new Agent(app.url);
      f.cookie = value;
      const mon = await count(() => f.get('/s/read'));
      expect(mon.result.body).toEqual({});
      expect(mon.commands).toEqual([]);
    }
  });

  it('rotating secrets keeps existing sessions valid', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const rotated = await start({ connection: { url: redis.url }, secrets: ['a-brand-new-secret-of-at-least-32-chars!', SECRET] });
    const b = new Agent(rotated.url);
    b.cookie = a.cookie;
    expect((await b.get('/s/read')).body).toEqual({ n: 1 });
    const dropped = await start({ connection: { url: redis.url }, secrets: ['a-brand-new-secret-of-at-least-32-chars!'] });
    const c = new Agent(dropped.url);
    c.cookie = a.cookie;
    expect((await c.get('/s/read')).body).toEqual({});
  });

  it('supports Secure cookies and the __Host- prefix behind a trusted TLS proxy', async () => {
    const h = await start({ connection: { url: redis.url }, cookie: { name: '__Host-sid', secure: true, sameSite: 'strict' }, keyPrefix: 'host:', proxy: true });
    const a = new Agent(h.url, '__Host-sid');
    a.extraHeaders['x-forwarded-proto'] = 'https';
    const r = await a.post('/s/set', { n: 1 });
    expect(r.setCookie[0]).toMatch(/^__Host-sid=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect((await a.get('/s/read')).body).toEqual({ n: 1 });
  });

  it('a value the codec cannot encode fails at set with a typed error, and nothing is written', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const key = await keyOf();
    const before = await probe.hgetall(key);
    const r = await a.post('/s/set-fn');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ code: 'TIDYKV_CODEC', name: 'TidyKvCodecError' });
    expect(await probe.hgetall(key)).toEqual(before);
  });

  it('bad options stop start-up with a message naming the option, the value and the fix', async () => {
    await expect(startExpressApp({ connection: { url: redis.url }, secrets: ['short'] })).rejects.toThrow(
      /Invalid tidykv option `SessionModule.secrets`: received an array of 1, expected a non-empty array of strings of at least 32 characters. Generate one/,
    );
    await expect(startExpressApp({ connection: { url: redis.url }, touchIntervalMs: 5_000, idleTimeoutMs: 1_000 })).rejects.toThrow(/SessionModule.touchIntervalMs/);
  });

  it('a 4xx answer keeps the writes, a handler that sends the response itself is saved first, and app cookies survive', async () => {
    await probe.flushall();
    await expectAnswersKeepWritesAndCookies(app.url);
  });
});
