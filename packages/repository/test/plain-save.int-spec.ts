import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countCommands, startRedis, type RedisTestServer } from '@tidykv/testing';
import { RepositoryContext } from '../src/index.js';
import { make, VerificationCodeWithoutIndex as Otp } from './support/entities.js';

// The save of an entity without @Indexed and with a TTL is one RESTORE of a payload tidykv builds
// (src/internal/hash-payload.ts). These tests check that what it stores is what the script would
// store, and that a server refusing RESTORE costs a log line, never a failed save.
const shapes: Record<string, Partial<Otp> & Record<string, unknown>> = {
  'short values (listpack payload)': { code: '123456' },
  'non-ASCII': { code: 'naïve 東京 🎉', 'ключ': 'значение' },
  'a value over 64 bytes (plain-hash payload)': { code: 'x'.repeat(65) },
  'a 1 MB value': { code: 'y'.repeat(1 << 20) },
  'numeric-looking field names and values': { code: '1', 0: 7, 12: '-3' },
  'more fields than a listpack holds': Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, i])),
  'an empty string': { code: '' },
};

describe('the save of an entity without @Indexed', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true, args: ['--sanitize-dump-payload', 'yes'] });
  });
  afterAll(() => server.close());

  const withContext = async (url: string, fn: (ctx: RepositoryContext, logs: string[]) => Promise<void>) => {
    const logs: string[] = [];
    const ctx = RepositoryContext.create({ connection: { url } }, { logger: { log: (m) => logs.push(m), warn: (m) => logs.push(m) } });
    try {
      await fn(ctx, logs);
    } finally {
      await ctx.close();
    }
  };

  it.each(Object.entries(shapes))('stores exactly what the script stores, and passes deep payload validation: %s', async (_, props) => {
    await withContext(server.url, async (ctx) => {
      const otps = ctx.repository(Otp);
      const admin = server.client();
      const e = make(Otp, { id: 'r', ...props });
      const { counts } = await countCommands(admin, () => otps.save(e));
      expect(counts.restore).toBe(1);
      const restored = await admin.hgetall(otps.keyOf('r'));
      const encoding = await admin.object('ENCODING', otps.keyOf('r'));
      // The same entity through the script path, into another key, for comparison.
      await admin.del(otps.keyOf('r'));
      ctx.driver.plainSave = 'script';
      await otps.save(e);
      expect(restored).toEqual(await admin.hgetall(otps.keyOf('r')));
      expect(encoding).toBe(await admin.object('ENCODING', otps.keyOf('r')));
      expect(await otps.findById('r')).toEqual(e);
      await admin.del(otps.keyOf('r'));
    });
  });

  it('falls back to the save script, logged once, when an ACL forbids RESTORE', async () => {
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'norestore', 'on', '>pw', '~*', '&*', '+@all', '-restore');
    await withContext(`redis://norestore:pw@${server.host}:${server.port}`, async (ctx, logs) => {
      const otps = ctx.repository(Otp);
      await otps.save(make(Otp, { id: 'a', code: '1' }));
      await otps.save(make(Otp, { id: 'b', code: '2' }));
      expect(await otps.findById('a')).toEqual(make(Otp, { id: 'a', code: '1' }));
      expect(await admin.pttl(otps.keyOf('b'))).toBeGreaterThan(29_000);
      expect(ctx.driver.plainSave).toBe('script');
      expect(logs.filter((l) => l.includes('RESTORE'))).toHaveLength(1);
    });
  });

  it('steps down to the plain-hash payload when the server does not read listpack payloads', async () => {
    await withContext(server.url, async (ctx, logs) => {
      const otps = ctx.repository(Otp);
      // What a Redis 6 answers to an RDB 10 payload; nothing was applied, so the next way is the save.
      const client = ctx.connection.client;
      const restore = client.restore.bind(client);
      let refused = 0;
      (client as unknown as { restore: (...a: unknown[]) => Promise<unknown> }).restore = (...a: unknown[]) => {
        if ((a[2] as Buffer)[0] === 16) {
          refused++;
          return Promise.reject(new Error('ERR DUMP payload version or checksum are wrong'));
        }
        return (restore as (...x: unknown[]) => Promise<unknown>)(...a);
      };
      await otps.save(make(Otp, { id: 'c', code: '3' }));
      await otps.save(make(Otp, { id: 'd', code: '4' }));
      expect(refused).toBe(1);
      expect(ctx.driver.plainSave).toBe('hash');
      expect(await otps.findById('d')).toEqual(make(Otp, { id: 'd', code: '4' }));
      expect(logs).toHaveLength(1);
    });
  });
});

describe('the save of an entity without @Indexed on a server where RESTORE is renamed away', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true, args: ['--rename-command', 'RESTORE', ''] });
  });
  afterAll(() => server.close());

  it('is the save script, and the entity is saved with its TTL', async () => {
    const ctx = RepositoryContext.create({ connection: { url: server.url } });
    try {
      const otps = ctx.repository(Otp);
      await otps.save(make(Otp, { id: 'a', code: '1' }));
      expect(await otps.findById('a')).toEqual(make(Otp, { id: 'a', code: '1' }));
      expect(await server.client().pttl(otps.keyOf('a'))).toBeGreaterThan(29_000);
      expect(ctx.driver.plainSave).toBe('script');
    } finally {
      await ctx.close();
    }
  });
});
