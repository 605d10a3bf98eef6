import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import { TidyKvDecodeError, TidyKvKeyError } from '@tidykv/core';
import { countCommands, countRoundTrips, dbSize, eventually, flushAll, listKeys } from '@tidykv/testing';
import { EntityValueError, RepositoryContext, type EntityRepository } from '../../src/index.js';
import { Device, make, Named, Profile, RefreshToken, Setting, VerificationCode, VerificationCodeWithoutIndex } from './entities.js';

/** What a topology-specific suite file provides. */
export interface SuiteTarget {
  readonly kind: 'standalone' | 'cluster';
  /** A plain client to inspect Redis with (not the one under test). */
  readonly inspect: Redis | Cluster;
  /** Connection options for the repositories under test. */
  readonly connection: { url: string } | { cluster: { nodes: { host: string; port: number }[] } };
  /** Number of masters (1 for standalone). */
  readonly masters: number;
  close(): Promise<void>;
}

// Expiry is waited for by polling (never a fixed sleep), with deadlines far above the TTLs so that
// a loaded machine cannot make a test fail; `within` is how long a short TTL may take to show.
const within = 10_000;

/**
 * The acceptance suite of issue 4, run once against a standalone server and once against a
 * local Cluster. Every test starts from an empty database so DBSIZE counts mean what they say.
 */
export function repositorySuite(name: string, start: () => Promise<SuiteTarget>): void {
  describe(name, () => {
    let target: SuiteTarget;
    let ctx: RepositoryContext;
    let profiles: EntityRepository<Profile>;
    let tokens: EntityRepository<RefreshToken>;
    let named: EntityRepository<Named>;
    let devices: EntityRepository<Device>;
    let settings: EntityRepository<Setting>;
    let codes: EntityRepository<VerificationCode>;

    beforeAll(async () => {
      target = await start();
      ctx = RepositoryContext.create({ connection: target.connection });
      profiles = ctx.repository(Profile);
      tokens = ctx.repository(RefreshToken);
      named = ctx.repository(Named);
      devices = ctx.repository(Device);
      settings = ctx.repository(Setting);
      codes = ctx.repository(VerificationCode);
    }, 60_000);
    afterAll(async () => {
      await ctx?.close();
      await target?.close();
    });
    beforeEach(() => flushAll(target.inspect));

    const keysOf = async () => (await listKeys(target.inspect)).map((k) => k.key);

    describe('round trips of values', () => {
      it('reads back strings, numbers, booleans, Dates, nested objects, arrays, optional and null values exactly', async () => {
        const p = make(Profile, {
          id: 'p1',
          name: 'Zoë "quoted" \n line',
          age: -12.5,
          active: false,
          born: new Date('1990-02-03T04:05:06.789Z'),
          address: { city: 'Lyon', zip: null, tags: ['a', '', '$x'] },
          scores: [],
          deletedAt: null,
        });
        await profiles.save(p);
        const back = await profiles.findById('p1');
        expect(back).toBeInstanceOf(Profile);
        expect(back).toEqual(p);
        expect(back!.born).toBeInstanceOf(Date);
        expect(back!.deletedAt).toBeNull();
        expect('nickname' in back!).toBe(false);
      });

      it('findById returns null for a missing entity, never an empty object', async () => {
        expect(await profiles.findById('nobody')).toBeNull();
      });

      it('deleteById removes the entity, and reports false when there was none', async () => {
        await settings.save(make(Setting, { id: 's', value: 'v' }));
        expect(await settings.deleteById('s')).toBe(true);
        expect(await settings.findById('s')).toBeNull();
        expect(await settings.deleteById('s')).toBe(false);
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('findManyById returns entities in the order asked, null for the missing ones', async () => {
        const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
        await settings.saveMany(ids.filter((_, i) => i % 3 !== 0).map((id) => make(Setting, { id, value: id.toUpperCase() })));
        const found = await settings.findManyById(ids);
        expect(found.map((s) => s?.value ?? null)).toEqual(ids.map((id, i) => (i % 3 === 0 ? null : id.toUpperCase())));
      });

      it('round-trips a class whose constructor needs arguments (reads never call it)', async () => {
        await codes.save(new VerificationCode('c1', '123456', 'a@b.c'));
        const back = await codes.findById('c1');
        expect(back).toEqual(new VerificationCode('c1', '123456', 'a@b.c'));
        expect(await codes.findBy('email', 'a@b.c')).toHaveLength(1);
      });

      it('stores and reads back a property the class does not declare', async () => {
        const s = Object.assign(make(Setting, { id: 'e', value: 'v' }), { extra: { n: 1 } });
        await settings.save(s);
        expect(await settings.findById('e')).toEqual(s);
      });
    });

    describe('without @Indexed', () => {
      it('writes exactly one key per entity and never any set', async () => {
        await settings.saveMany(Array.from({ length: 100 }, (_, i) => make(Setting, { id: `s${i}`, value: 'x' })));
        await settings.update('s1', { value: 'y' });
        await settings.expire('s2', 30);
        await settings.save(make(Setting, { id: 's3', value: 'z' }));
        const keys = await listKeys(target.inspect);
        expect(keys).toHaveLength(100);
        expect(new Set(keys.map((k) => k.type))).toEqual(new Set(['hash']));
      });

      it('leaves DBSIZE 0 once the TTL has passed', async () => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => named.save(make(Named, { id: `n${i}`, name: `name-${i % 5}` }))));
        await profiles.save(make(Profile, { id: 'no-ttl', name: 'x', age: 1, active: true, born: new Date(0), scores: [], deletedAt: null }));
        await profiles.expire('no-ttl', 1);
        expect(await dbSize(target.inspect)).toBe(56);
        await eventually(async () => (await dbSize(target.inspect)) === 0, within, 'DBSIZE 0 after the 1 s TTLs');
      });
    });

    describe('TTL handling', () => {
      it('a save with a TTL is atomic: under 300 concurrent re-saves no observer ever sees the entity without its TTL', async () => {
        const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
        await Promise.all(ids.map((id) => tokens.save(make(RefreshToken, { id, userId: 'u', issuedAt: new Date() }))));
        const observer = target.inspect;
        let stop = false;
        let observations = 0;
        const withoutTtl: string[] = [];
        const watch = (async () => {
          while (!stop) {
            const pttls = await Promise.all(ids.map((id) => observer.pttl(tokens.keyOf(id))));
            pttls.forEach((p, i) => {
              if (p === -1) withoutTtl.push(ids[i]);
            });
            observations += pttls.length;
          }
        })();
        await Promise.all(
          Array.from({ length: 300 }, (_, i) => tokens.save(make(RefreshToken, { id: ids[i % ids.length], userId: `u${i % 3}`, issuedAt: new Date() }))),
        );
        stop = true;
        await watch;
        expect(observations).toBeGreaterThan(0);
        expect(withoutTtl).toEqual([]);
        for (const k of await listKeys(target.inspect)) expect(k.pttl).toBeGreaterThan(0);
      });

      it('re-saving re-applies the class TTL', async () => {
        await tokens.save(make(RefreshToken, { id: 'r', userId: 'u', issuedAt: new Date() }));
        await tokens.expire('r', 100);
        expect(await tokens.ttl('r')).toBeGreaterThan(90);
        await tokens.save(make(RefreshToken, { id: 'r', userId: 'u', issuedAt: new Date() }));
        expect(await tokens.ttl('r')).toBeLessThanOrEqual(3);
        expect(await tokens.ttl('r')).toBeGreaterThan(2);
      });

      it('re-saving keeps a TTL set with expire() on a class without one', async () => {
        await settings.save(make(Setting, { id: 's', value: '1' }));
        expect(await settings.ttl('s')).toBe(Infinity);
        await settings.expire('s', 50);
        await settings.save(make(Setting, { id: 's', value: '2' }));
        const ttl = await settings.ttl('s');
        expect(ttl).toBeGreaterThan(45);
        expect(ttl).toBeLessThanOrEqual(50);
        expect(await settings.ttl('missing')).toBeNull();
      });

      it('uses the @TimeToLive value of the instance, for the entity and its index entries', async () => {
        await devices.save(make(Device, { id: 'd1', userId: 'u1', platform: 'ios', ttl: 5 }));
        await devices.save(make(Device, { id: 'd2', userId: 'u1', platform: 'ios', ttl: 7 }));
        const keys = await listKeys(target.inspect);
        const pttl = (k: string) => keys.find((x) => x.key === k)!.pttl;
        expect(pttl(devices.keyOf('d1'))).toBeLessThanOrEqual(5000);
        expect(pttl(devices.keyOf('d1'))).toBeGreaterThan(4000);
        // Each index key lives exactly as long as its longest-lived member.
        const idx = keys.filter((k) => k.type === 'zset');
        expect(idx).toHaveLength(2);
        for (const k of idx) expect(Math.abs(k.pttl - pttl(devices.keyOf('d2')))).toBeLessThan(50);
        expect((await devices.findById('d1'))!.ttl).toBe(5);
      });

      it('persist() takes the TTL off the entity and its index keys', async () => {
        await devices.save(make(Device, { id: 'd', userId: 'u', platform: 'web', ttl: 1 }));
        expect(await devices.expire('d', 30)).toBe(true);
        expect(await devices.persist('d')).toBe(true);
        const keys = await listKeys(target.inspect);
        expect(keys).toHaveLength(3);
        for (const k of keys) expect(k.pttl).toBe(-1);
        expect(await devices.countBy('userId', 'u')).toBe(1);
      });

      it('expire() after persist() gives the index keys a TTL again: nothing remains once it passes', async () => {
        await devices.save(make(Device, { id: 'd', userId: 'u', platform: 'web' }));
        await devices.persist('d');
        expect(await devices.expire('d', 1)).toBe(true);
        for (const k of await listKeys(target.inspect)) expect(k.pttl).toBeGreaterThan(0);
        await eventually(async () => (await dbSize(target.inspect)) === 0, within, 'the entity and both index keys to expire');
        expect(await devices.findBy('userId', 'u')).toEqual([]);
      });

      it('expire() and persist() answer false for a missing entity and create nothing', async () => {
        expect(await devices.expire('missing', 1)).toBe(false);
        expect(await devices.persist('missing')).toBe(false);
        expect(await settings.expire('missing', 1)).toBe(false);
        expect(await settings.persist('missing')).toBe(false);
        expect(await dbSize(target.inspect)).toBe(0);
      });
    });

    describe('update', () => {
      it('of a missing entity writes nothing and returns false', async () => {
        expect(await devices.update('ghost', { label: 'x' })).toBe(false);
        expect(await settings.update('ghost', { value: 'x' })).toBe(false);
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('keeps the TTL and removes properties set to undefined', async () => {
        await devices.save(make(Device, { id: 'd', userId: 'u', label: 'old', ttl: 20 }));
        await target.inspect.pexpire(devices.keyOf('d'), 8000);
        expect(await devices.update('d', { label: undefined, platform: 'android' })).toBe(true);
        const back = await devices.findById('d');
        expect(back).toEqual(make(Device, { id: 'd', userId: 'u', platform: 'android', ttl: 20 }));
        const pttl = await target.inspect.pttl(devices.keyOf('d'));
        expect(pttl).toBeLessThanOrEqual(8000);
        expect(pttl).toBeGreaterThan(7000);
        expect(await devices.findBy('platform', 'android')).toHaveLength(1);
      });

      it('never recreates an entity it races with a delete (200 pairs)', async () => {
        const ids = Array.from({ length: 200 }, (_, i) => `race${i}`);
        await Promise.all(ids.map((id) => devices.save(make(Device, { id, userId: 'racer', platform: 'p0' }))));
        await Promise.all(ids.flatMap((id, i) => [devices.update(id, { platform: `p${i % 4}`, label: 'late' }), devices.deleteById(id)]));
        expect(await devices.countBy('userId', 'racer')).toBe(0);
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('stores properties the class does not declare', async () => {
        await devices.save(make(Device, { id: 'd', userId: 'u' }));
        expect(await devices.update('d', { nope: 1 } as never)).toBe(true);
        expect(await devices.findById('d')).toEqual(Object.assign(make(Device, { id: 'd', userId: 'u' }), { nope: 1 }));
      });

      it('refuses to change the id, writing nothing', async () => {
        await devices.save(make(Device, { id: 'd', userId: 'u' }));
        await expect(devices.update('d', { id: 'other' })).rejects.toBeInstanceOf(EntityValueError);
        await expect(devices.update('d', { id: 'other' })).rejects.toMatchObject({ code: 'TIDYKV_ENTITY_VALUE' });
        expect(await devices.findById('d')).toEqual(make(Device, { id: 'd', userId: 'u' }));
        // The entity and its one index entry, nothing under the other id.
        expect(await dbSize(target.inspect)).toBe(2);
      });
    });

    describe('with @Indexed', () => {
      it('findBy and countBy skip entities that were deleted or changed the value', async () => {
        await devices.save(make(Device, { id: 'kept', userId: 'u' }));
        await devices.save(make(Device, { id: 'gone', userId: 'u' }));
        await devices.save(make(Device, { id: 'moved', userId: 'u' }));
        await devices.deleteById('gone');
        await devices.update('moved', { userId: 'v' });
        expect((await devices.findBy('userId', 'u')).map((d) => d.id)).toEqual(['kept']);
        expect(await devices.countBy('userId', 'u')).toBe(1);
        expect((await devices.findOneBy('userId', 'v'))!.id).toBe('moved');
      });

      it('findBy and countBy stop counting an entity once its TTL has passed', async () => {
        await devices.save(make(Device, { id: 'short', userId: 'u', ttl: 1 }));
        await devices.save(make(Device, { id: 'long', userId: 'u', ttl: 30 }));
        expect((await devices.findBy('userId', 'u')).map((d) => d.id)).toEqual(['short', 'long']);
        await eventually(async () => (await devices.countBy('userId', 'u')) === 1, within, 'the 1 s entity to drop out of countBy');
        expect((await devices.findBy('userId', 'u')).map((d) => d.id)).toEqual(['long']);
      });

      it('updating an indexed property moves the entry; deleting the entity removes it', async () => {
        const d = make(Device, { id: 'd', userId: 'alice', platform: 'ios' });
        await devices.save(d);
        const idxAlice = ctx.indexKey('device', 'userId', 'alice');
        const idxBob = ctx.indexKey('device', 'userId', 'bob');
        expect(await keysOf()).toContain(idxAlice);
        d.userId = 'bob';
        await devices.save(d);
        expect(await devices.countBy('userId', 'alice')).toBe(0);
        expect(await devices.countBy('userId', 'bob')).toBe(1);
        let keys = await keysOf();
        expect(keys).not.toContain(idxAlice);
        expect(keys).toContain(idxBob);
        await devices.update('d', { userId: 'carol', platform: null });
        keys = await keysOf();
        expect(keys.sort()).toEqual([devices.keyOf('d'), ctx.indexKey('device', 'userId', 'carol')].sort());
        expect(await devices.delete(d)).toBe(true);
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('an index key outlives its shorter-lived members and expires with its longest-lived one', async () => {
        await devices.save(make(Device, { id: 'a', userId: 'u', platform: 'ios', ttl: 1 }));
        await devices.save(make(Device, { id: 'b', userId: 'u', platform: 'web', ttl: 4 }));
        await eventually(async () => !(await keysOf()).includes(ctx.indexKey('device', 'platform', 'ios')), within, "the index of 'ios' to expire with 'a'");
        // The index of 'u' must outlive 'a' (it still lists 'b'), but not 'b'.
        expect(await keysOf()).toContain(ctx.indexKey('device', 'userId', 'u'));
        expect((await devices.findBy('userId', 'u')).map((d) => d.id)).toEqual(['b']);
        await eventually(async () => (await dbSize(target.inspect)) === 0, within, "every key to expire with 'b'");
      });

      it('stays exact under 300 concurrent saves that move 10 entities between 3 values', async () => {
        const ids = Array.from({ length: 10 }, (_, i) => `e${i}`);
        await Promise.all(
          Array.from({ length: 300 }, (_, i) => devices.save(make(Device, { id: ids[i % 10], userId: `v${(i * 7) % 3}`, platform: i % 2 ? 'a' : 'b' }))),
        );
        const stored = await devices.findManyById(ids);
        for (const v of ['v0', 'v1', 'v2']) {
          const expected = stored.filter((d) => d!.userId === v).map((d) => d!.id).sort();
          expect((await devices.findBy('userId', v)).map((d) => d.id).sort()).toEqual(expected);
          expect(await devices.countBy('userId', v)).toBe(expected.length);
          if (target.kind === 'standalone') {
            // Standalone moves are atomic with the entity write: the index holds exactly the members.
            const members = expected.length === 0 ? [] : await target.inspect.zrange(ctx.indexKey('device', 'userId', v), '0', '-1');
            expect([...members].sort()).toEqual(expected);
          }
        }
      });

      it('deleteBy revokes every entity with the value and nothing else', async () => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => tokens.save(make(RefreshToken, { id: `x${i}`, userId: 'X', issuedAt: new Date() }))));
        await Promise.all(Array.from({ length: 5 }, (_, i) => tokens.save(make(RefreshToken, { id: `y${i}`, userId: 'Y', issuedAt: new Date() }))));
        expect(await tokens.deleteBy('userId', 'X')).toBe(50);
        expect(await tokens.findBy('userId', 'X')).toEqual([]);
        expect(await tokens.countBy('userId', 'Y')).toBe(5);
        expect(await dbSize(target.inspect)).toBe(6);
      });

      it('never returns or counts an entity that vanished behind the index\'s back (eviction, FLUSH) or a stale member', async () => {
        await devices.save(make(Device, { id: 'kept', userId: 'u' }));
        await devices.save(make(Device, { id: 'evicted', userId: 'u' }));
        await devices.save(make(Device, { id: 'elsewhere', userId: 'w' }));
        // What eviction does: the hash disappears, the index is not told.
        await target.inspect.del(devices.keyOf('evicted'));
        // What a Cluster write interrupted between its two steps can leave: a member whose entity holds another value.
        await target.inspect.zadd(ctx.indexKey('device', 'userId', 'u'), '+inf', 'elsewhere');
        expect((await devices.findBy('userId', 'u')).map((d) => d.id)).toEqual(['kept']);
        expect(await devices.countBy('userId', 'u')).toBe(1);
        expect(await devices.deleteBy('userId', 'u')).toBe(1);
        expect(await devices.findById('elsewhere')).not.toBeNull();
      });

      it('refuses queries on properties without @Indexed at run time too', async () => {
        await expect(tokens.findBy('device' as never, 'x' as never)).rejects.toMatchObject({ code: 'TIDYKV_ENTITY_METADATA' });
      });
    });

    describe('round trips and command budgets', () => {
      // Round trips are socket writes of the client under test (countRoundTrips: a pipeline is one
      // write). Command budgets come from INFO commandstats, which counts every call a script
      // makes inside Redis next to its EVALSHA: those are the counts asserted here.
      beforeEach(async () => {
        // Each script's first call on a connection is an EVAL (ioredis): warm them, and the
        // Cluster's slot cache, so that the counts below are the steady state.
        await tokens.save(make(RefreshToken, { id: 'warm', userId: 'w', issuedAt: new Date() }));
        await tokens.update('warm', { device: 'x' });
        await tokens.deleteBy('userId', 'w');
        await settings.save(make(Setting, { id: 'warm', value: 'x' }));
        await profiles.save(make(Profile, { id: 'warm', name: 'w', age: 1, active: true, born: new Date(0), scores: [], deletedAt: null }));
        await settings.update('warm', { value: 'y' });
        await flushAll(target.inspect);
      });

      it('save without @Indexed and with a TTL is one round trip and one command: RESTORE', async () => {
        const otps = ctx.repository(VerificationCodeWithoutIndex);
        const otp = (code: string) => Object.assign(new VerificationCodeWithoutIndex(), { id: 'p', code });
        await otps.save(otp('0'));
        expect((await countCommands(target.inspect, () => otps.save(otp('1')))).counts).toEqual({ restore: 1 });
        expect((await countRoundTrips(ctx.connection.client, () => otps.save(otp('2')))).total).toBe(1);
        expect(await otps.findById('p')).toEqual(otp('2'));
        expect(await target.inspect.pttl(otps.keyOf('p'))).toBeGreaterThan(29_000);
      });

      it('save without @Indexed and without a TTL (kept) is one script of HSET + HLEN', async () => {
        await settings.save(make(Setting, { id: 's', value: 'v' }));
        const { counts } = await countCommands(target.inspect, () => settings.save(make(Setting, { id: 's', value: 'w' })));
        expect(counts).toEqual({ evalsha: 1, hset: 1, hlen: 1 });
        expect((await countRoundTrips(ctx.connection.client, () => settings.save(make(Setting, { id: 's', value: 'x' })))).total).toBe(1);
      });

      it('save with @Indexed is one round trip on a standalone server (two on Cluster: the index slot after the entity)', async () => {
        const indexed = await countRoundTrips(ctx.connection.client, () => tokens.save(make(RefreshToken, { id: 't', userId: 'w', issuedAt: new Date() })));
        expect(indexed.total).toBe(target.kind === 'standalone' ? 1 : 2);
      });

      it('a re-save with an unchanged indexed value runs 8 commands inside its script (standalone)', async () => {
        await tokens.save(make(RefreshToken, { id: 't', userId: 'w', issuedAt: new Date() }));
        const { counts, total } = await countCommands(target.inspect, () => tokens.save(make(RefreshToken, { id: 't', userId: 'w', issuedAt: new Date() })));
        if (target.kind === 'standalone') {
          expect(counts).toEqual({ evalsha: 1, hmget: 1, pttl: 1, hset: 1, hlen: 1, time: 1, pexpireat: 2, zadd: 1 });
        } else {
          // Cluster: the hash script (HMGET, HSET, HLEN, TIME, PEXPIREAT), then setIndexEntry in the index's slot.
          expect(counts.evalsha).toBe(2);
          expect(total).toBeLessThanOrEqual(2 + 5 + 5);
        }
      });

      it('findById is one round trip and one HGETALL', async () => {
        await tokens.save(make(RefreshToken, { id: 't', userId: 'w', issuedAt: new Date() }));
        expect((await countRoundTrips(ctx.connection.client, () => tokens.findById('t'))).total).toBe(1);
        expect((await countCommands(target.inspect, () => tokens.findById('t'))).counts).toEqual({ hgetall: 1 });
      });

      it('update without indexed properties is one script of EXISTS + HSET', async () => {
        await settings.save(make(Setting, { id: 's', value: 'v' }));
        await settings.update('s', { value: 'u' }); // the first call on this key's node connection is an EVAL
        expect((await countCommands(target.inspect, () => settings.update('s', { value: 'w' }))).counts).toEqual({ evalsha: 1, exists: 1, hset: 1 });
      });

      it('findManyById is one pipeline per node', async () => {
        const ids = Array.from({ length: 30 }, (_, i) => `many${i}`);
        await settings.saveMany(ids.map((id) => make(Setting, { id, value: id })));
        const many = await countRoundTrips(ctx.connection.client, () => settings.findManyById(ids));
        expect(many.result.every((s) => s !== null)).toBe(true);
        expect(Object.values(many.perNode).every((n) => n === 1)).toBe(true);
        expect(many.total).toBeLessThanOrEqual(target.masters);
      });

      it('findBy with 10 matches is two round trips: one ZRANGE, then 10 HGETALLs', async () => {
        await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.save(make(RefreshToken, { id: `ten${i}`, userId: 'ten', issuedAt: new Date() }))));
        const byIndex = await countRoundTrips(ctx.connection.client, () => tokens.findBy('userId', 'ten'));
        expect(byIndex.result).toHaveLength(10);
        if (target.kind === 'standalone') expect(byIndex.total).toBe(2);
        // Cluster: one request to the index's node, then one pipeline per node holding matches.
        else expect(byIndex.total).toBeLessThanOrEqual(1 + target.masters);
        expect((await countCommands(target.inspect, () => tokens.findBy('userId', 'ten'))).counts).toEqual({ zrange: 1, hgetall: 10 });
      });

      it('deleteBy with 10 matches is two round trips on a standalone server: ZRANGE, then one script for all', async () => {
        await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.save(make(RefreshToken, { id: `ten${i}`, userId: 'ten', issuedAt: new Date() }))));
        if (target.kind === 'standalone') {
          const { result, counts } = await countCommands(target.inspect, () => tokens.deleteBy('userId', 'ten'));
          expect(result).toBe(10);
          // The second ZRANGE is the index's realignment, on a key the last ZREM has deleted.
          expect(counts).toEqual({ zrange: 2, evalsha: 1, hmget: 10, del: 1, zmscore: 1, zrem: 1 });
        } else {
          expect(await tokens.deleteBy('userId', 'ten')).toBe(10);
        }
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('deleteBy is two round trips on a standalone server', async () => {
        await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.save(make(RefreshToken, { id: `ten${i}`, userId: 'ten', issuedAt: new Date() }))));
        const trips = await countRoundTrips(ctx.connection.client, () => tokens.deleteBy('userId', 'ten'));
        expect(trips.result).toBe(10);
        if (target.kind === 'standalone') expect(trips.total).toBe(2);
        else expect(trips.total).toBeLessThanOrEqual(1 + 10 + 10);
      });
    });

    describe('round trips of a save that moves an indexed value', () => {
      it('is one round trip after this process read the entity, two when another process wrote it, and the index stays exact', async () => {
        const client = ctx.connection.client;
        const standalone = target.kind === 'standalone';
        await tokens.save(make(RefreshToken, { id: 'mv', userId: 'old', issuedAt: new Date() }));
        const loaded = (await tokens.findById('mv')) as RefreshToken;
        loaded.userId = 'new';
        // The repository remembers the indexed value it read, so the save names the old index key up front.
        if (standalone) expect((await countRoundTrips(client, () => tokens.save(loaded))).total).toBe(1);
        else await tokens.save(loaded); // Cluster: the index move is its own step in other slots

        // Another process has seen nothing of 'mv': the script refuses the blind guess and reports
        // the stored value, and the retry moves the entry. Then this process's guess is stale: same.
        const other = RepositoryContext.create({ connection: target.connection });
        try {
          const otherTokens = other.repository(RefreshToken);
          const blind = () => otherTokens.save(make(RefreshToken, { id: 'mv', userId: 'third', issuedAt: new Date() }));
          const stale = () => tokens.save(make(RefreshToken, { id: 'mv', userId: 'fourth', issuedAt: new Date() }));
          if (standalone) {
            await other.connection.run('ping', (c) => c.ping()); // connect first: the handshake is not the save's round trip
            expect((await countRoundTrips(other.connection.client, blind)).total).toBe(2);
            expect((await countRoundTrips(client, stale)).total).toBe(2);
          } else {
            await blind();
            await stale();
          }
        } finally {
          await other.close();
        }
        for (const gone of ['old', 'new', 'third']) expect(await tokens.countBy('userId', gone)).toBe(0);
        expect((await tokens.findBy('userId', 'fourth')).map((t) => t.id)).toEqual(['mv']);
        expect((await listKeys(target.inspect)).filter((k) => k.type === 'zset')).toHaveLength(1);
      });
    });

    describe('bad input', () => {
      const nasty = ['*', '?', '[a-z]', '{tag}', '}{', 'a:b', 'x:idx:userId:{u}', '%41', '%', 'line\nbreak', ' ', 'naïve 東京 🎉', '\\', 'refresh-token:{evil}', '\u0000'];

      const saveNasty = () => Promise.all(nasty.map((id, i) => tokens.save(make(RefreshToken, { id, userId: `u${i}`, issuedAt: new Date(i) }))));

      it('keeps ids of any characters apart, each in one key with exactly one hash tag', async () => {
        await saveNasty();
        for (const [i, id] of nasty.entries()) {
          const back = await tokens.findById(id);
          expect(back?.id).toBe(id);
          expect(back?.userId).toBe(`u${i}`);
        }
        const hashes = (await listKeys(target.inspect)).filter((k) => k.type === 'hash');
        expect(hashes).toHaveLength(nasty.length);
        // Exactly one hash tag per key, so each entity sits in one slot of its own making.
        for (const k of hashes) expect(k.key.split('{').length).toBe(2);
      });

      it('ids() walks ids of any characters back exactly', async () => {
        await saveNasty();
        const seen: string[] = [];
        for await (const id of tokens.ids()) seen.push(id);
        expect(seen.sort()).toEqual([...nasty].sort());
      });

      it('refuses an empty or too long id with TidyKvKeyError', async () => {
        await expect(tokens.findById('')).rejects.toBeInstanceOf(TidyKvKeyError);
        await expect(tokens.save(make(RefreshToken, { id: 'x'.repeat(600), userId: 'u', issuedAt: new Date() }))).rejects.toBeInstanceOf(TidyKvKeyError);
        expect(await dbSize(target.inspect)).toBe(0);
      });

      it('glob characters in a queried value match only themselves', async () => {
        await tokens.save(make(RefreshToken, { id: 'star', userId: '*', issuedAt: new Date() }));
        await tokens.save(make(RefreshToken, { id: 'plain', userId: 'abc', issuedAt: new Date() }));
        expect((await tokens.findBy('userId', '*')).map((t) => t.id)).toEqual(['star']);
      });

      it('raises a typed error naming the key and the field when a declared field does not decode', async () => {
        await codes.save(new VerificationCode('bad', '123', 'a@b.c'));
        const key = codes.keyOf('bad');
        await target.inspect.hset(key, 'code', '{not json');
        const err = await codes.findById('bad').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TidyKvDecodeError);
        expect(err).toMatchObject({ code: 'TIDYKV_DECODE', key, field: 'code' });
        expect(await target.inspect.hget(key, 'code')).toBe('{not json');
      });

      it('ignores fields the class does not declare whose values do not decode (foreign data)', async () => {
        await settings.save(make(Setting, { id: 'bad', value: 'ok' }));
        await target.inspect.hset(settings.keyOf('bad'), 'legacyField', '{not json', 'other', '');
        expect(await settings.findById('bad')).toEqual(make(Setting, { id: 'bad', value: 'ok' }));
      });

      it('rejects values it could not read back before writing anything', async () => {
        await expect(settings.save(make(Setting, { id: 'f', value: (() => 1) as never }))).rejects.toBeInstanceOf(EntityValueError);
        await expect(devices.save(make(Device, { id: 'd', userId: 'u', ttl: -1 }))).rejects.toMatchObject({ property: 'ttl' });
        await expect(devices.save(make(Device, { id: 'd', userId: { not: 'indexable' } as never }))).rejects.toMatchObject({ property: 'userId' });
        await expect(settings.save(Object.assign(make(Setting, { id: 'e', value: 'v' }), { '@': 1 }))).rejects.toMatchObject({ property: '@' });
        expect(await dbSize(target.inspect)).toBe(0);
      });
    });

    describe('ids()', () => {
      it('walks every id once with SCAN, on every node', async () => {
        const ids = Array.from({ length: 120 }, (_, i) => `id-${i}`);
        await settings.saveMany(ids.map((id) => make(Setting, { id, value: 'v' })));
        await tokens.save(make(RefreshToken, { id: 'other-keyspace', userId: 'u', issuedAt: new Date() }));
        const seen: string[] = [];
        for await (const id of settings.ids({ count: 10 })) seen.push(id);
        expect(seen.sort()).toEqual([...ids].sort());
      });
    });

    describe('incidents', () => {
      it('a refresh token with a 3 s TTL is read back, and once it has passed nothing at all remains in Redis', async () => {
        const t = make(RefreshToken, { id: 'rt-1', userId: 'user-42', device: 'phone', issuedAt: new Date() });
        await tokens.save(t);
        expect(await tokens.findById('rt-1')).toEqual(t);
        expect(await tokens.findBy('userId', 'user-42')).toEqual([t]);
        for (const k of await listKeys(target.inspect)) expect(k.pttl).toBeLessThanOrEqual(3000);
        await eventually(async () => (await dbSize(target.inspect)) === 0, within, 'DBSIZE 0 after the 3 s TTL');
      });

      it('an @Indexed name with a 1 s TTL: once it has passed, findBy returns nothing, countBy 0, and no key remains', async () => {
        await named.save(make(Named, { id: 'n-1', name: 'Ada' }));
        await named.save(make(Named, { id: 'n-2', name: 'Ada' }));
        expect(await named.countBy('name', 'Ada')).toBe(2);
        await eventually(async () => (await dbSize(target.inspect)) === 0, within, 'DBSIZE 0 after the 1 s TTL');
        expect(await named.findBy('name', 'Ada')).toEqual([]);
        expect(await named.countBy('name', 'Ada')).toBe(0);
      });
    });
  });
}
