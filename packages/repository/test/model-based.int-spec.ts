import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { encodeKeyPart } from '@tidykv/core';
import { dbSize, eventually, flushAll, startRedis, type RedisTestServer } from '@tidykv/testing';
import { Id, Indexed, RedisEntity, RepositoryContext, TimeToLive, type EntityRepository } from '../src/index.js';

// Issue 10, model-based: the repository against an in-memory model, under random sequences and
// concurrent batches of saves, updates, deletes, expires and persists (from two contexts, as two
// processes with their own caches of indexed values), with findBy/countBy on two @Indexed
// properties and short TTLs. After every step Redis equals the model: each entity's hash and
// TTL, and each index's live members, exactly; an index key has no TTL only while it holds an
// entity without one. Once everything has expired, DBSIZE is 0.

@RedisEntity({ keyspace: 'mb', ttl: 60 })
class Item {
  @Id() id!: string;
  @Indexed() owner!: Indexed<string>;
  @Indexed() tag?: Indexed<string> | null;
  @TimeToLive() ttl?: number;
  note?: string;
}

const IDS = ['a', 'b', 'c', 'd'];
const OWNERS = ['o1', 'o2', 'o{3}*'];
const TAGS = ['x', 'y'];
/** A short TTL: short enough to wait out, long enough that a batch never outlives it. */
const SHORT_S = 0.8;

type Life = 'long' | 'short' | 'none';
interface Entry {
  owner?: string;
  tag?: string | null;
  note?: string;
  ttl?: number;
  life: Life;
}
type Model = Map<string, Entry>;
interface Real {
  redis: Redis;
  repos: EntityRepository<Item>[];
  keyOf: (id: string) => string;
  indexKey: (prop: string, value: string) => string;
}

type Write =
  | { kind: 'save'; id: string; owner: string; tag?: string | null; note?: string; short: boolean }
  | { kind: 'update'; id: string; patch: { owner?: string; tag?: string | null; note?: string } }
  | { kind: 'delete'; id: string }
  | { kind: 'expire'; id: string; short: boolean }
  | { kind: 'persist'; id: string };

/** Applies `w` to the model as the repository promises, and returns what the call answers. */
function apply(model: Model, w: Write): unknown {
  const e = model.get(w.id);
  switch (w.kind) {
    case 'save':
      model.set(w.id, { owner: w.owner, tag: w.tag, note: w.note, ttl: w.short ? SHORT_S : undefined, life: w.short ? 'short' : 'long' });
      return undefined;
    case 'update': {
      if (!e) return false;
      const next = { ...e };
      for (const [k, v] of Object.entries(w.patch) as [keyof typeof w.patch, string | null | undefined][]) {
        if (v === undefined) delete next[k];
        else (next as Record<string, unknown>)[k] = v;
      }
      model.set(w.id, next);
      return true;
    }
    case 'delete':
      return model.delete(w.id);
    case 'expire':
      if (!e) return false;
      model.set(w.id, { ...e, life: w.short ? 'short' : 'long' });
      return true;
    case 'persist':
      if (!e) return false;
      model.set(w.id, { ...e, life: 'none' });
      return true;
  }
}

async function perform(real: Real, via: number, w: Write): Promise<unknown> {
  const repo = real.repos[via];
  switch (w.kind) {
    case 'save': {
      const item = Object.assign(Object.create(Item.prototype) as Item, { id: w.id, owner: w.owner });
      if (w.tag !== undefined) item.tag = w.tag;
      if (w.note !== undefined) item.note = w.note;
      if (w.short) item.ttl = SHORT_S;
      await repo.save(item);
      return undefined;
    }
    case 'update':
      return repo.update(w.id, w.patch);
    case 'delete':
      return repo.deleteById(w.id);
    case 'expire':
      return repo.expire(w.id, w.short ? SHORT_S : 60);
    case 'persist':
      return repo.persist(w.id);
  }
}

const enc = (v: unknown) => JSON.stringify(v);
function expectedHash(e: Entry): Record<string, string> {
  const h: Record<string, string> = {};
  if (e.owner !== undefined) h.owner = enc(e.owner);
  if (e.tag !== undefined) h.tag = enc(e.tag);
  if (e.note !== undefined) h.note = enc(e.note);
  if (e.ttl !== undefined) h.ttl = enc(e.ttl);
  return h;
}

/** Everything Redis holds, read the way the model can be compared with it. */
async function observe(real: Real) {
  const hashes = new Map<string, { hash: Record<string, string>; pttl: number }>();
  for (const id of IDS) {
    const key = real.keyOf(id);
    const [hash, pttl] = await Promise.all([real.redis.hgetall(key), real.redis.pttl(key)]);
    // The marker field keeps an entity without properties in Redis; it is storage, not data.
    const { '@': _marker, ...data } = hash;
    if (Object.keys(hash).length > 0) hashes.set(id, { hash: data, pttl });
  }
  const [sec, usec] = (await real.redis.time()) as [string | number, string | number];
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  const indexes = new Map<string, { live: string[]; inf: boolean; pttl: number }>();
  for (const [prop, values] of [['owner', OWNERS], ['tag', TAGS]] as const) {
    for (const value of values) {
      const key = real.indexKey(prop, value);
      const members = await real.redis.zrange(key, '0', '-1', 'WITHSCORES');
      const live: string[] = [];
      let inf = false;
      for (let i = 0; i < members.length; i += 2) {
        if (members[i + 1] === 'inf') inf = true;
        if (members[i + 1] === 'inf' || Number(members[i + 1]) >= now) live.push(members[i]);
      }
      indexes.set(`${prop}=${value}`, { live: live.sort(), inf, pttl: await real.redis.pttl(key) });
    }
  }
  return { hashes, indexes };
}
type Observed = Awaited<ReturnType<typeof observe>>;

/** Why `seen` differs from `model`, or undefined when it matches. Entities with a short TTL may be gone. */
function mismatch(model: Model, seen: Observed): string | undefined {
  for (const id of IDS) {
    const e = model.get(id);
    const got = seen.hashes.get(id);
    if (!e) {
      if (got) return `${id} should not exist, holds ${enc(got.hash)}`;
      continue;
    }
    if (!got) {
      if (e.life === 'short') continue;
      return `${id} is missing, expected ${enc(expectedHash(e))}`;
    }
    if (enc(Object.entries(got.hash).sort()) !== enc(Object.entries(expectedHash(e)).sort())) return `${id} holds ${enc(got.hash)}, expected ${enc(expectedHash(e))}`;
    const ttlOk = e.life === 'none' ? got.pttl === -1 : e.life === 'long' ? got.pttl > 50_000 : got.pttl > 0 && got.pttl <= SHORT_S * 1000;
    if (!ttlOk) return `${id} has PTTL ${got.pttl}, expected a ${e.life} TTL`;
  }
  for (const [prop, values] of [['owner', OWNERS], ['tag', TAGS]] as const) {
    for (const value of values) {
      const idx = seen.indexes.get(`${prop}=${value}`)!;
      const holders = [...model].filter(([, e]) => e[prop] === value);
      const sure = holders.filter(([, e]) => e.life !== 'short').map(([id]) => id);
      const maybe = new Set(holders.map(([id]) => id));
      if (!sure.every((id) => idx.live.includes(id)) || !idx.live.every((id) => maybe.has(id))) {
        return `index ${prop}=${value} lists ${enc(idx.live)}, expected ${enc(sure)} (+ maybe ${enc([...maybe])})`;
      }
      // The leak check: an index key without TTL must be held up by an entity without one.
      if (idx.pttl === -1 && !idx.inf) return `index ${prop}=${value} has no TTL and no member without one`;
      if (idx.inf && idx.pttl !== -1) return `index ${prop}=${value} holds an entity without TTL but expires`;
    }
  }
  return undefined;
}

/** What the runs did, for the closing note of issue 10. */
const stats = { runs: 0, steps: 0, writes: 0, batches: 0, queries: 0, expiries: 0, divergences: 0 };

const clone = (m: Model): Model => new Map([...m].map(([k, v]) => [k, { ...v }]));
const sure = (m: Model, id: string) => m.get(id)?.life !== 'short';
const describeWrite = (w: Write) => `${w.kind}(${enc({ ...w, kind: undefined })})`;

class WriteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly writes: Write[],
    readonly via: number[],
  ) {}

  // Writes never target an entity with a short TTL: whether it still exists is a matter of
  // milliseconds. A short TTL is only set outside concurrent batches, for the same reason.
  check(m: Readonly<Model>): boolean {
    return this.writes.every((w) => sure(m as Model, w.id)) && (this.writes.length === 1 || this.writes.every((w) => !('short' in w && w.short)));
  }

  async run(m: Model, r: Real): Promise<void> {
    stats.steps++;
    stats.writes += this.writes.length;
    if (this.writes.length > 1) stats.batches++;
    const results = await Promise.all(this.writes.map((w, i) => perform(r, this.via[i], w)));
    const seen = await observe(r);
    // Concurrent calls: some order of them must explain both the answers and what Redis holds.
    const why: string[] = [];
    for (const order of permutations(this.writes.map((_, i) => i))) {
      const candidate = clone(m);
      const answers: unknown[] = [];
      for (const i of order) answers[i] = apply(candidate, this.writes[i]);
      if (enc(answers) !== enc(results)) {
        why.push(`order ${order.join(',')}: answers ${enc(answers)} vs ${enc(results)}`);
        continue;
      }
      const wrong = mismatch(candidate, seen);
      if (wrong === undefined) {
        m.clear();
        for (const [k, v] of candidate) m.set(k, v);
        return;
      }
      why.push(`order ${order.join(',')}: ${wrong}`);
    }
    stats.divergences++;
    throw new Error(`no order of ${this.toString()} explains Redis: ${why.join('; ')}`);
  }

  toString(): string {
    return this.writes.map((w, i) => `${describeWrite(w)}@${this.via[i]}`).join(' || ');
  }
}

class QueryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly prop: 'owner' | 'tag',
    readonly value: string,
    readonly via: number,
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    stats.steps++;
    stats.queries++;
    const repo = r.repos[this.via];
    const found = (await repo.findBy(this.prop, this.value)).map((x) => x.id).sort();
    const count = await repo.countBy(this.prop, this.value);
    const holders = [...m].filter(([, e]) => e[this.prop] === this.value);
    const must = holders.filter(([, e]) => e.life !== 'short').map(([id]) => id);
    const may = new Set(holders.map(([id]) => id));
    expect(must.every((id) => found.includes(id)) && found.every((id) => may.has(id))).toBe(true);
    expect(count).toBeGreaterThanOrEqual(must.length);
    expect(count).toBeLessThanOrEqual(may.size);
  }

  toString(): string {
    return `findBy+countBy(${this.prop}=${this.value})@${this.via}`;
  }
}

/** Waits until every entity with a short TTL is gone, then the model forgets them. */
class AwaitExpiryCommand implements fc.AsyncCommand<Model, Real> {
  check(m: Readonly<Model>): boolean {
    return [...m.values()].some((e) => e.life === 'short');
  }

  async run(m: Model, r: Real): Promise<void> {
    stats.steps++;
    stats.expiries++;
    const short = [...m].filter(([, e]) => e.life === 'short').map(([id]) => id);
    await eventually(async () => (await r.redis.exists(...short.map(r.keyOf))) === 0, 10_000, `${short.join(', ')} to expire`);
    for (const id of short) m.delete(id);
    const wrong = mismatch(m, await observe(r));
    if (wrong) throw new Error(wrong);
  }

  toString(): string {
    return 'awaitExpiry';
  }
}

function* permutations(xs: number[]): Generator<number[]> {
  if (xs.length <= 1) {
    yield xs;
    return;
  }
  for (let i = 0; i < xs.length; i++) for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) yield [xs[i], ...rest];
}

const id = fc.constantFrom(...IDS);
const owner = fc.constantFrom(...OWNERS);
const tag = fc.constantFrom<string | null | undefined>(...TAGS, null, undefined);
const note = fc.option(fc.constantFrom('n', 'a\nb', '{x}'), { nil: undefined });
const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('save' as const), id, owner, tag, note, short: fc.integer({ min: 0, max: 9 }).map((n) => n < 3) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      id,
      patch: fc.record({ owner: fc.option(owner, { nil: undefined }), tag, note }, { requiredKeys: [] }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), id, short: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('persist' as const), id }) },
);
const via = fc.integer({ min: 0, max: 1 });
const commands = [
  fc.tuple(write, via).map(([w, v]) => new WriteCommand([w], [v])),
  fc.array(fc.tuple(write, via), { minLength: 2, maxLength: 3 }).map((ws) => new WriteCommand(ws.map(([w]) => w), ws.map(([, v]) => v))),
  fc.tuple(fc.constantFrom<'owner' | 'tag'>('owner', 'tag'), via).chain(([p, v]) => fc.constantFrom(...(p === 'owner' ? OWNERS : TAGS)).map((value) => new QueryCommand(p, value, v))),
  fc.constant(new AwaitExpiryCommand()),
];

describe('EntityRepository against an in-memory model (fast-check)', () => {
  let server: RedisTestServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis({ own: true });
    redis = server.client();
  });
  afterAll(() => server.close());

  it('equals the model after every step, and leaves DBSIZE 0 once everything has expired', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'max' }), async (cmds) => {
        stats.runs++;
        await flushAll(redis);
        const contexts = [0, 1].map(() => RepositoryContext.create({ connection: { url: server.url } }));
        try {
          const real: Real = {
            redis,
            repos: contexts.map((c) => c.repository(Item)),
            keyOf: (x) => contexts[0].layout.entity('mb', x),
            indexKey: (prop, value) => contexts[0].indexKey('mb', prop, encodeKeyPart(value)),
          };
          const model: Model = new Map();
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Everything left gets a short TTL (persisted entities included): then nothing may remain.
          for (const x of model.keys()) await real.repos[0].expire(x, 0.3);
          await eventually(async () => (await dbSize(redis)) === 0, 10_000, 'DBSIZE 0 once every entity has expired');
        } finally {
          await Promise.all(contexts.map((c) => c.close()));
        }
      }),
      { numRuns: 30, endOnFailure: true },
    );
    console.log(`model-based: ${JSON.stringify(stats)}`);
  }, 300_000);
});
