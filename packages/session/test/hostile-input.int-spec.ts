import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { TidyKvKeys } from '@tidykv/core';
import { listKeys, monitorCommands, RedisProcess } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { reportLine, startFaultApp, type FaultApp } from './support/fault-app.js';
import { Agent } from './support/session-app.js';

// What a hostile or broken client can send: cookies that are huge, repeated, non-ASCII or full of
// glob characters, braces and newlines; attribute names and values of a megabyte; `__proto__` in
// JSON bodies. Each must get a clear answer (a new session, a 4xx, or the data stored as sent),
// never a crash, never a 5xx, and never a key outside the prefix: the only keys tidykv writes
// are the ones its key layout builds from ids it generated itself.
const keys = new TidyKvKeys('tkv:');

/** One HTTP/1.1 request over a raw socket, bytes exactly as given (Node's client refuses some of them). */
function rawRequest(url: string, head: Buffer): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(Buffer.concat([head, Buffer.from('\r\n')])));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
  });
}

function decodes(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function getWithCookieBytes(cookie: Buffer): Buffer {
  return Buffer.concat([Buffer.from('GET /f/read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: '), cookie, Buffer.from('\r\n')]);
}

describe('@tidykv/session under hostile input', () => {
  let redis: RedisProcess;
  let probe: Redis;
  let app: FaultApp;
  let requests = 0;
  const answers: Record<string, number> = {};
  const seen = (status: number): number => {
    requests++;
    answers[status] = (answers[status] ?? 0) + 1;
    return status;
  };

  // Commands Redis receives while `fn` runs, read with MONITOR: their keys and arguments (a
  // script's source, sent with EVAL, is left out: it is tidykv's own text).
  async function redisCommands(fn: () => Promise<void>): Promise<string[]> {
    const { commands } = await monitorCommands(redis.client(), fn);
    return commands.map(({ args }) => (args[0]?.toLowerCase() === 'eval' ? [args[0], ...args.slice(2)] : args).join(' '));
  }

  beforeAll(async () => {
    redis = await RedisProcess.start();
    probe = redis.client();
    app = await startFaultApp({ connection: { url: redis.url }, principal: 'userId' }, { bodyLimit: '4mb' });
  });
  afterAll(async () => {
    reportLine('hostile input', { requests, ...Object.fromEntries(Object.entries(answers).map(([k, v]) => [`answered${k}`, v])) });
    await app?.close();
    await redis?.close();
  });

  const cookies: [string, string][] = [
    ['a glob pattern', '*'],
    ['glob characters around a plausible id', 'tkv:s:{abcd}*?[a-z]\\'],
    ['braces, the shape of a hash tag', '{abcd}{efgh}%7B%7D'],
    ['percent-encoded newlines and a header', 'x%0D%0ASet-Cookie:%20a=b%0A*'],
    ['a right-length value of braces', `${'{'.repeat(26)}.${'}'.repeat(22)}`],
    ['a well-formed id with a forged signature', `${'A'.repeat(26)}.${'B'.repeat(22)}`],
    ['percent-encoded non-ASCII', '%C3%A9%E6%97%A5%E6%9C%AC'],
    ['a broken percent-encoding', '%E0%A4%A'],
    ['8 KB of junk', 'x'.repeat(8_192)],
  ];

  it.each(cookies)('a cookie holding %s reads as no session, without a single Redis command', async (_, value) => {
    const a = new Agent(app.url);
    a.cookie = value;
    let status = 0;
    let body: unknown;
    const commands = await redisCommands(async () => {
      const r = await a.get('/f/read');
      status = seen(r.status);
      body = r.body;
    });
    expect(status).toBe(200);
    expect(body).toEqual({ attributes: {} });
    expect(commands).toEqual([]);
  });

  it.each(cookies)('a write under a cookie holding %s creates a fresh session under the prefix and never sends the cookie to Redis', async (_, value) => {
    const a = new Agent(app.url);
    a.cookie = value;
    let status = 0;
    const commands = await redisCommands(async () => {
      status = seen((await a.post('/f/write-save', { n: 1 })).status);
    });
    expect(status).toBe(200);
    expect(a.cookie).not.toBe(value);
    // Neither the cookie as sent nor as the cookie parser decodes it appears in any command.
    const forms = [value, decodes(value)].map((v) => v.slice(0, 12));
    expect(commands.filter((c) => forms.some((f) => c.includes(f)))).toEqual([]);
  });

  it('repeated cookies: the first one counts, a valid one behind a bad one is not used, and neither crashes', async () => {
    const owner = new Agent(app.url);
    await owner.post('/f/write-save', { mine: true });
    const valid = owner.cookie as string;
    const first = new Agent(app.url);
    first.cookie = `${valid}; sid=junk; sid=*`;
    expect((await first.get('/f/read')).body).toMatchObject({ attributes: { mine: true } });
    const behind = new Agent(app.url);
    behind.cookie = `junk; sid=${valid}`;
    const r = await behind.get('/f/read');
    seen(r.status);
    expect(r).toMatchObject({ status: 200, body: { attributes: {} } });
  });

  it('raw non-ASCII bytes in the cookie header are answered (a new session or 400), and the app keeps serving', async () => {
    for (const bytes of [Buffer.from('sid=é日本', 'utf8'), Buffer.from([0x73, 0x69, 0x64, 0x3d, 0xff, 0xfe, 0x80]), Buffer.from('sid=\u0000x', 'latin1')]) {
      const r = await rawRequest(app.url, getWithCookieBytes(bytes));
      expect([200, 400]).toContain(seen(r.status));
    }
    expect((await new Agent(app.url).get('/f/none')).status).toBe(200);
  });

  it('newlines in the cookie header (folded or bare) are refused by the HTTP parser with 400, and the app keeps serving', async () => {
    for (const bytes of [Buffer.from('sid=a\r\n b'), Buffer.from('sid=a\nX-Evil: 1'), Buffer.from('sid=a\rb')]) {
      const r = await rawRequest(app.url, getWithCookieBytes(bytes));
      expect(seen(r.status)).toBe(400);
    }
    expect((await new Agent(app.url).get('/f/none')).status).toBe(200);
  });

  it('a cookie header beyond the HTTP header limit is refused with 431, and the app keeps serving', async () => {
    const r = await rawRequest(app.url, getWithCookieBytes(Buffer.from(`sid=${'x'.repeat(64 * 1024)}`)));
    expect(seen(r.status)).toBe(431);
    expect((await new Agent(app.url).get('/f/none')).status).toBe(200);
  });

  it('a 1 MB attribute name and a 1 MB value are stored and read back as sent', async () => {
    const a = new Agent(app.url);
    const name = `n${'é'.repeat(512 * 1024)}`;
    const value = `v${'日'.repeat(350 * 1024)}`;
    expect(seen((await a.post('/f/write-save', { [name]: 1, big: value })).status)).toBe(200);
    const r = await a.get('/f/read');
    const attributes = (r.body as { attributes: Record<string, unknown> }).attributes;
    expect(attributes[name]).toBe(1);
    expect(attributes.big).toBe(value);
    expect(Buffer.byteLength(name)).toBeGreaterThan(1_000_000);
    expect(Buffer.byteLength(value)).toBeGreaterThan(1_000_000);
  });

  it('glob characters, braces and newlines in attribute names and values stay data', async () => {
    const a = new Agent(app.url);
    const attrs = { '*': '?', '{tkv:s:x}': '}{', 'a\nb\r\n': '\n*\n', '[a-z]\\': 'tkv:u:{abcd}' };
    expect(seen((await a.post('/f/write-save', attrs)).status)).toBe(200);
    expect((await a.get('/f/read')).body).toMatchObject({ attributes: attrs });
  });

  it('a reserved attribute name of a megabyte is refused with a clear 400', async () => {
    const r = await new Agent(app.url).post('/f/write-save', { [`#${'x'.repeat(1024 * 1024)}`]: 1 });
    seen(r.status);
    expect(r).toMatchObject({ status: 400, body: { code: 'TIDYKV_SESSION_ATTRIBUTE' } });
  });

  it('__proto__ as an attribute name in a JSON body is stored as data and pollutes no prototype', async () => {
    const a = new Agent(app.url);
    const r = await a.request('POST', '/f/write-save', JSON.parse('{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":true}}}'));
    seen(r.status);
    expect(r.status).toBe(200);
    const read = (await a.get('/f/read')).body as { attributes: Record<string, unknown> };
    expect(Object.prototype.hasOwnProperty.call(read.attributes, '__proto__')).toBe(true);
    expect(read.attributes.__proto__).toEqual({ admin: true });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a __proto__ key inside an attribute value is refused at write time with a clear 400, since it could not be read back', async () => {
    const a = new Agent(app.url);
    const r = await a.request('POST', '/f/write-save', JSON.parse('{"profile":{"name":"x","__proto__":{"admin":true}}}'));
    seen(r.status);
    expect(r).toMatchObject({ status: 400, body: { code: 'TIDYKV_CODEC' } });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('after all of it, every key in Redis is a tidykv key under the prefix, with a TTL', async () => {
    const all = await listKeys(probe, '*');
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((k) => !k.key.startsWith('tkv:') || keys.parse(k.key) === undefined).map((k) => k.key.slice(0, 80))).toEqual([]);
    expect(all.filter((k) => k.pttl <= 0).map((k) => k.key)).toEqual([]);
    expect(app.state.errors.filter((e) => e.status >= 500)).toEqual([]);
  });
});
