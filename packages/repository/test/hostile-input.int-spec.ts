import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { TidyKvConfigError, TidyKvKeyError, TidyKvKeys } from '@tidykv/core';
import { dbSize, flushAll, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { RepositoryContext, TidyKvEntityValueError, type EntityRepository } from '../src/index.js';
import { make, RefreshToken, Setting } from './support/entities.js';

// Issue 10, hostile input: glob characters, braces, newlines and 1 MB strings as ids and indexed
// values, `__proto__` in JSON. Each gets a clear answer (a stored and readable entity, or a typed
// error before anything is written), nothing crashes, and no key is ever written outside the prefix.
const PREFIX = 'hostile:';
const HOSTILE = ['*', '?', '[a-z]', '\\', '{tag}', '}{', '{', 'a:b', ':idx:userId:{u}', 'line\nbreak', '\r\n', '\t', ' ', '', '%', '%41', 'naïve 東京 🎉', '\u0000', 'refresh-token:{evil}', 'x'.repeat(512)];
const MB = 'm'.repeat(1 << 20);

describe('hostile input', () => {
  let server: RedisTestServer;
  let redis: Redis;
  let ctx: RepositoryContext;
  let tokens: EntityRepository<RefreshToken>;
  let settings: EntityRepository<Setting>;
  const layout = new TidyKvKeys(PREFIX);

  beforeAll(async () => {
    server = await startRedis({ own: true });
    redis = server.client();
    ctx = RepositoryContext.create({ connection: { url: server.url }, keyPrefix: PREFIX });
    tokens = ctx.repository(RefreshToken);
    settings = ctx.repository(Setting);
  });
  afterAll(async () => {
    await ctx?.close();
    await server?.close();
  });

  // After every test: every key is under the prefix and is exactly an entity or entity-index key.
  afterEach(async () => {
    for (const { key } of await listKeys(redis)) {
      expect(key.startsWith(PREFIX)).toBe(true);
      const parsed = layout.parse(key);
      expect(parsed?.kind === 'entity' || parsed?.kind === 'entity-index').toBe(true);
    }
    await flushAll(redis);
  });

  const ids = HOSTILE.filter((x) => x !== '');

  it('stores ids of any characters each under its own key, and reads, finds and deletes them back', async () => {
    await Promise.all(ids.map((id, i) => tokens.save(make(RefreshToken, { id, userId: `u${i}`, issuedAt: new Date(i) }))));
    for (const [i, id] of ids.entries()) {
      expect((await tokens.findById(id))?.userId).toBe(`u${i}`);
      expect((await tokens.findBy('userId', `u${i}`)).map((t) => t.id)).toEqual([id]);
    }
    const entityKeys = (await listKeys(redis)).filter((k) => k.type === 'hash').map((k) => layout.parse(k.key));
    expect(entityKeys.map((p) => (p?.kind === 'entity' ? p.id : undefined)).sort()).toEqual([...ids].sort());
    expect(await tokens.deleteMany(ids)).toBe(ids.length);
    expect(await dbSize(redis)).toBe(0);
  });

  it.each([
    ['an empty id', ''],
    ['a 1 MB id', MB],
    ['an id with a lone surrogate (would share a key with U+FFFD)', 'a\uD800'],
  ])('refuses %s with TidyKvKeyError before writing anything', async (_, id) => {
    await expect(tokens.save(make(RefreshToken, { id, userId: 'u', issuedAt: new Date() }))).rejects.toBeInstanceOf(id === '' ? TidyKvEntityValueError : TidyKvKeyError);
    await expect(tokens.findById(id)).rejects.toBeInstanceOf(TidyKvKeyError);
    await expect(tokens.deleteById(id)).rejects.toBeInstanceOf(TidyKvKeyError);
    await expect(tokens.update(id, { device: 'x' })).rejects.toBeInstanceOf(TidyKvKeyError);
    expect(await dbSize(redis)).toBe(0);
  });

  it('indexes values of any characters apart: each query and deleteBy matches exactly its own value', async () => {
    await Promise.all(HOSTILE.map((userId, i) => tokens.save(make(RefreshToken, { id: `t${i}`, userId, issuedAt: new Date() }))));
    for (const [i, userId] of HOSTILE.entries()) {
      expect((await tokens.findBy('userId', userId)).map((t) => t.id)).toEqual([`t${i}`]);
      expect(await tokens.countBy('userId', userId)).toBe(1);
    }
    expect(await tokens.deleteBy('userId', '*')).toBe(1);
    expect(await tokens.deleteBy('userId', '[a-z]')).toBe(1);
    expect(await tokens.countBy('userId', '?')).toBe(1);
    expect(await dbSize(redis)).toBe(2 * (HOSTILE.length - 2));
  });

  it('refuses a 1 MB indexed value (no index key can hold it) before writing anything', async () => {
    await expect(tokens.save(make(RefreshToken, { id: 'big', userId: MB, issuedAt: new Date() }))).rejects.toMatchObject({ code: 'TIDYKV_ENTITY_VALUE', property: 'userId' });
    await expect(tokens.findBy('userId', MB)).rejects.toBeInstanceOf(TidyKvEntityValueError);
    expect(await dbSize(redis)).toBe(0);
  });

  it('stores and reads back a 1 MB value of a property that is not indexed', async () => {
    await tokens.save(make(RefreshToken, { id: 'big', userId: 'u', device: MB, issuedAt: new Date() }));
    await settings.save(make(Setting, { id: 'big', value: MB }));
    expect((await tokens.findById('big'))?.device).toBe(MB);
    expect((await settings.findById('big'))?.value).toBe(MB);
  });

  it('stores properties whose names hold separators, braces, globs and newlines as fields, not keys', async () => {
    const odd = { 'a b': 1, 'x:y': 2, '{t}': 3, '*': 4, 'new\nline': 5, 'ключ': 6 };
    const s = Object.assign(make(Setting, { id: 's', value: 'v' }), odd);
    await settings.save(s);
    expect(await settings.findById('s')).toEqual(s);
    expect(await dbSize(redis)).toBe(1);
  });

  it('refuses a property named __proto__, and a value holding a __proto__ key, which would not read back', async () => {
    const own = JSON.parse('{"id":"p","value":"v","__proto__":{"admin":true}}') as Setting;
    await expect(settings.save(Object.setPrototypeOf(own, Setting.prototype) as Setting)).rejects.toMatchObject({ property: '__proto__' });
    const nested = JSON.parse('{"a":{"__proto__":{"admin":true}}}') as never;
    await expect(settings.save(make(Setting, { id: 'p', value: nested }))).rejects.toMatchObject({ code: 'TIDYKV_ENTITY_VALUE', property: 'value' });
    await settings.save(make(Setting, { id: 'p', value: 'v' }));
    await expect(settings.update('p', JSON.parse('{"__proto__":{"admin":true}}') as never)).rejects.toMatchObject({ property: '__proto__' });
    expect(await settings.findById('p')).toEqual(make(Setting, { id: 'p', value: 'v' }));
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('reads foreign data holding __proto__ without letting it reach a prototype', async () => {
    await settings.save(make(Setting, { id: 'f', value: 'v' }));
    await redis.hset(settings.keyOf('f'), '__proto__', '{"admin":true}', 'nested', '{"__proto__":{"admin":true},"ok":1}');
    const back = await settings.findById('f');
    expect(back).toBeInstanceOf(Setting);
    expect(Object.getPrototypeOf(back)).toBe(Setting.prototype);
    expect((back as unknown as { nested: unknown }).nested).toEqual({ ok: 1 });
    expect((back as unknown as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses query values that are not indexable, and a key prefix that could open a hash tag or a glob', async () => {
    await expect(tokens.findBy('userId', { $ne: null } as never)).rejects.toBeInstanceOf(TidyKvEntityValueError);
    await expect(tokens.deleteBy('userId', ['*'] as never)).rejects.toBeInstanceOf(TidyKvEntityValueError);
    await expect(tokens.countBy('userId', null as never)).rejects.toBeInstanceOf(TidyKvEntityValueError);
    for (const keyPrefix of ['a{b}:', '*:', 'line\n', 'x'.repeat(65)]) {
      expect(() => RepositoryContext.create({ connection: { url: server.url }, keyPrefix })).toThrow(TidyKvConfigError);
    }
    expect(await dbSize(redis)).toBe(0);
  });
});
