import { LRUCache } from 'lru-cache';
import type { Cluster, Redis } from 'ioredis';
import { decodeKeyPart } from '@tidykv/core';
import { EntityCodec } from './internal/entity-codec.js';
import { getEntityMetadata, type EntityClass, type EntityMetadata } from './internal/entity-metadata.js';
import { interpretEntityReply, runEntityScript, type EntityScriptName, type EntityWriteOutcome } from './internal/entity-scripts.js';
import { groupByNode } from './internal/key-slot.js';
import type { IndexedKeys, IndexedValue } from './entity.decorator.js';
import { EntityConflictError, EntityMetadataError, EntityValueError } from './repository.errors.js';
import type { RepositoryContext } from './repository-context.service.js';

/** What one index block of an entity script says about one @Indexed property. */
type BlockSpec =
  /** Write `enc` (its index entry under `part`, none when undefined). */
  | { readonly prop: string; readonly enc: string; readonly part: string | undefined }
  /** Keep whatever the entity stores, re-scoring its entry (TTL changes). */
  | { readonly prop: string; readonly keep: true };

/** Options of {@link EntityRepository.ids}. */
export interface ScanIdsOptions {
  /** SCAN COUNT hint per call. Default: 1000. */
  count?: number;
}

/** A partial entity for {@link EntityRepository.update}: any stored properties except the id. */
export type EntityPatch<T> = { [K in keyof T]?: T[K] };

/**
 * Stores entities of one class as one Redis hash each, at `<keyPrefix><keyspace>:{<id>}`, with
 * sorted-set indexes for `@Indexed()` properties that expire with their entities. Extend it for
 * custom repositories (keep the constructor) and register them with
 * `RepositoryModule.forFeature([{ entity, repository }])`.
 *
 * Consistency: on a standalone server (or Sentinel) every write of an entity and its index
 * entries is one atomic script. On Cluster, the entity write is atomic (hash + TTL) and its
 * index entries are updated right after, in their own slots; reads verify every index hit
 * against the entity, so a query never returns or counts an entity that does not currently
 * hold the queried value.
 */
export class EntityRepository<T extends object> {
  /** The entity's metadata. */
  protected readonly meta: EntityMetadata;
  /** Converts between entities and hash fields. */
  protected readonly codec: EntityCodec;
  /**
   * The indexed values (stored encodings, '' for absent) this process last saw stored per id,
   * from its own reads and writes. A write that changes an indexed value must name the old index
   * key up front; with a right guess the usual read-modify-write is one round trip instead of
   * two. A wrong or missing guess is never unsafe: the script refuses it and reports the stored
   * values, and the write is retried with them.
   */
  private readonly seenIndexed = new LRUCache<string, readonly string[]>({ max: 10_000 });

  constructor(
    /** The entity class. */
    readonly entity: EntityClass<T>,
    /** Connection, key layout and scripts shared with the app's other repositories. */
    protected readonly context: RepositoryContext,
  ) {
    this.meta = getEntityMetadata(entity);
    this.codec = new EntityCodec(this.meta);
  }

  /** The Redis key of entity `id`. Throws {@link TidyKvKeyError} for an empty, non-string or too long id. */
  keyOf(id: string): string {
    return this.context.keys.tagged(this.meta.keyspace, id);
  }

  // ------------------------------------------------------------------ writes

  /**
   * Inserts or replaces `entity` (properties it no longer has are removed) and applies its TTL in
   * the same atomic step: the instance's `@TimeToLive` value, else the class `ttl`, else the TTL
   * the stored entity already had. One round trip on a standalone server, also when it changes an
   * indexed value this process read or wrote last; two when the stored indexed value is one it
   * has not seen (written by another process). On Cluster, one more for index entries. Returns `entity`.
   */
  async save(entity: T): Promise<T> {
    const enc = this.codec.encode(entity);
    const specs: BlockSpec[] = this.meta.indexed.map((prop, i) => ({ prop, enc: enc.indexedEncodings[i], part: enc.indexedParts[i] }));
    await this.write('save', 'saveEntity', enc.id, specs, this.guessIndexed(enc.id), (blocks) => [enc.id, enc.ttlMs, specs.length, ...blocks, ...enc.pairs]);
    this.rememberIndexed(enc.id, enc.indexedEncodings);
    return entity;
  }

  /** Saves every entity concurrently (see {@link save}). */
  async saveMany(entities: readonly T[]): Promise<T[]> {
    // Encode all first, so that one bad entity writes nothing.
    for (const e of entities) this.codec.encode(e);
    return Promise.all(entities.map((e) => this.save(e)));
  }

  /**
   * Changes the given properties of an existing entity and keeps its TTL (also when the patch
   * changes the `@TimeToLive` property: use {@link expire} to change the TTL). Properties set to
   * undefined are removed. Returns false, writing nothing, when the entity does not exist (an
   * update never recreates a deleted or expired entity).
   */
  async update(id: string, patch: EntityPatch<T>): Promise<boolean> {
    if (patch === null || typeof patch !== 'object') {
      throw new EntityValueError(this.meta.name, '(patch)', `update() needs an object of properties, received ${patch === null ? 'null' : typeof patch}.`);
    }
    const record = patch as Record<string, unknown>;
    const pairs: string[] = [];
    const removed: string[] = [];
    const specs: BlockSpec[] = [];
    for (const prop of Object.keys(record)) {
      const v = record[prop];
      if (prop === this.meta.idProperty) {
        if (v === undefined || v === id) continue;
        throw new EntityValueError(this.meta.name, prop, 'update() cannot change the id; save a new entity and delete the old one.');
      }
      if (!this.codec.properties.includes(prop)) {
        throw new EntityValueError(this.meta.name, prop, 'the property is not declared on the class. Declare it as a class field or mark it @Field().');
      }
      if (v === undefined) removed.push(prop);
      else pairs.push(prop, this.codec.encodeValue(prop, v));
      if (this.meta.indexed.includes(prop)) {
        specs.push({ prop, enc: v === undefined ? '' : this.codec.encodeValue(prop, v), part: v === undefined || v === null ? undefined : this.codec.indexPart(prop, v) });
      }
    }
    const guess = this.guessIndexed(id);
    const outcome = await this.write('update', 'updateEntity', id, specs, guess, (blocks) => [id, 'keep', specs.length, ...blocks, pairs.length / 2, ...pairs, ...removed]);
    if (outcome.kind !== 'done') {
      this.seenIndexed.delete(id);
      return false;
    }
    if (guess.length > 0) {
      const next = [...guess];
      for (const spec of specs) if ('enc' in spec) next[this.meta.indexed.indexOf(spec.prop)] = spec.enc;
      this.rememberIndexed(id, next);
    }
    return true;
  }

  /** Deletes entity `id` and its index entries. Returns false when it did not exist. */
  async deleteById(id: string): Promise<boolean> {
    return this.remove(id, this.guessIndexed(id));
  }

  /** Deletes `entity` (by its id). Returns false when it did not exist. */
  async delete(entity: T): Promise<boolean> {
    const id = this.codec.idOf(entity);
    // The entity's own indexed values are the best guess of what is stored: one round trip when right.
    return this.remove(id, this.codec.indexed(entity as Record<string, unknown>).encodings);
  }

  /** Deletes every given entity or id; returns how many existed. */
  async deleteMany(items: readonly (T | string)[]): Promise<number> {
    const done = await Promise.all(items.map((x) => (typeof x === 'string' ? this.deleteById(x) : this.delete(x))));
    return done.filter(Boolean).length;
  }

  /**
   * Sets the TTL of entity `id` to `seconds` (index entries follow). Returns false when it does
   * not exist.
   */
  async expire(id: string, seconds: number): Promise<boolean> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
      throw new EntityValueError(this.meta.name, '(ttl)', `expire() needs a positive number of seconds, received ${String(seconds)}.`);
    }
    return this.retime(id, String(Math.max(1, Math.round(seconds * 1000))));
  }

  /** Removes the TTL of entity `id`: it lives until deleted. Returns false when it does not exist. */
  async persist(id: string): Promise<boolean> {
    return this.retime(id, 'persist');
  }

  // ------------------------------------------------------------------ reads

  /** The entity `id`, or null when it does not exist (never an empty "ghost" object). One round trip. */
  async findById(id: string): Promise<T | null> {
    const key = this.keyOf(id);
    const raw = await this.context.run('repository.findById', (c) => c.hgetall(key));
    const entity = this.codec.decode<T>(key, id, raw);
    if (entity) this.rememberStored(id, raw);
    return entity;
  }

  /**
   * The entities with the given ids, in the same order, null for missing ones. One round trip
   * on a standalone server; on Cluster one per node, in parallel.
   */
  async findManyById(ids: readonly string[]): Promise<(T | null)[]> {
    const keys = ids.map((id) => this.keyOf(id));
    const raws = await this.context.run('repository.findManyById', (c) => this.readHashes(c, keys));
    return raws.map((raw, i) => {
      const entity = this.codec.decode<T>(keys[i], ids[i], raw);
      if (entity) this.rememberStored(ids[i], raw);
      return entity;
    });
  }

  /** True when entity `id` exists. */
  async exists(id: string): Promise<boolean> {
    const key = this.keyOf(id);
    return (await this.context.run('repository.exists', (c) => c.exists(key))) === 1;
  }

  /** Remaining TTL of entity `id` in seconds: Infinity when it has none, null when it does not exist. */
  async ttl(id: string): Promise<number | null> {
    const key = this.keyOf(id);
    const pttl = await this.context.run('repository.ttl', (c) => c.pttl(key));
    if (pttl === -2) return null;
    return pttl === -1 ? Infinity : pttl / 1000;
  }

  /**
   * The entities whose `property` currently equals `value`. Two round trips whatever the number
   * of results: the live ids from the index, then the entities (one pipeline per node), each
   * verified against the value so that an expired, deleted or changed entity is never returned.
   */
  async findBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<T[]> {
    const { found } = await this.query('repository.findBy', property, value, 'entities');
    return found.map((f) => f.entity);
  }

  /** The first entity (soonest to expire) whose `property` equals `value`, or null. Two round trips. */
  async findOneBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<T | null> {
    return (await this.findBy(property, value))[0] ?? null;
  }

  /** How many entities currently have `property` = `value`, verified like {@link findBy}. Two round trips. */
  async countBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<number> {
    return (await this.query('repository.countBy', property, value, 'count')).count;
  }

  /**
   * Deletes every entity whose `property` equals `value` ("revoke every token of user X") with
   * their index entries. Returns how many were deleted.
   */
  async deleteBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<number> {
    const { found } = await this.query('repository.deleteBy', property, value, 'entities');
    const done = await Promise.all(found.map((f) => this.remove(f.id, f.indexedEncodings)));
    return done.filter(Boolean).length;
  }

  /**
   * Every entity id, from SCAN over the keyspace's keys (on Cluster, over every master in turn).
   * O(N) in the size of the whole database: meant for maintenance and migrations, not requests.
   * There is deliberately no keyspace set to make this cheaper, because such a set is what
   * leaks in other libraries. Ids of entities written during the scan may or may not appear.
   */
  async *ids(options: ScanIdsOptions = {}): AsyncGenerator<string, void, undefined> {
    const count = options.count ?? 1000;
    const client = this.context.connection.client;
    const nodes: Redis[] = this.context.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const prefix = this.context.keys.tagged(this.meta.keyspace, 'x').slice(0, -'x}'.length);
    const pattern = `${this.context.keys.pattern(this.meta.keyspace).slice(0, -1)}{*}`;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.context.run('repository.ids', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', count));
        cursor = next;
        for (const key of keys) {
          // MATCH is a glob: re-check the exact shape, so a stray key cannot pass for an entity.
          if (!key.startsWith(prefix) || !key.endsWith('}')) continue;
          const part = key.slice(prefix.length, -1);
          if (part.includes('{') || part.includes('}')) continue;
          try {
            yield decodeKeyPart(part);
          } catch {
            continue;
          }
        }
      } while (cursor !== '0');
    }
  }

  // ------------------------------------------------------------------ internals

  private guessIndexed(id: string): readonly string[] {
    return this.meta.indexed.length === 0 ? [] : (this.seenIndexed.get(id) ?? []);
  }

  private rememberIndexed(id: string, encodings: readonly string[]): void {
    if (this.meta.indexed.length > 0) this.seenIndexed.set(id, encodings);
  }

  private rememberStored(id: string, raw: Record<string, string>): void {
    if (this.meta.indexed.length > 0) this.seenIndexed.set(id, this.meta.indexed.map((p) => raw[p] ?? ''));
  }

  private indexKeyOf(prop: string, part: string): string {
    return this.context.indexKey(this.meta.keyspace, prop, part);
  }

  /**
   * Runs an entity script. Standalone: the blocks name the index keys the stored values are
   * expected to live under; when the script reports other stored values it wrote nothing, and
   * the call is repeated with those. Cluster: only the hash is touched atomically (blocks say
   * '*'), then the index entries are moved in their own slots.
   */
  private async write(
    op: string,
    script: EntityScriptName,
    id: string,
    specs: readonly BlockSpec[],
    guess: readonly string[],
    args: (blocks: (string | number)[]) => (string | number)[],
  ): Promise<EntityWriteOutcome> {
    const hashKey = this.keyOf(id);
    const conn = this.context;
    if (this.context.isCluster || specs.length === 0) {
      const blocks = specs.flatMap((s) => [s.prop, 'enc' in s ? s.enc : '', 0, '*', 0]);
      const reply = await conn.run(`repository.${op}`, (c) => runEntityScript(c, script, [hashKey], args(blocks)));
      const outcome = interpretEntityReply(script, reply);
      if (outcome.kind === 'done' && specs.length > 0) await this.moveIndexEntries(op, id, specs, outcome);
      return outcome;
    }
    let expected = specs.map((s) => guess[this.meta.indexed.indexOf(s.prop)] ?? '');
    const attempts = this.context.options.maxConflictRetries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const keys = [hashKey];
      const position = (key: string): number => {
        const i = keys.indexOf(key);
        if (i !== -1) return i + 1;
        keys.push(key);
        return keys.length;
      };
      const blocks: (string | number)[] = [];
      specs.forEach((s, i) => {
        const exp = expected[i];
        const oldPart = this.codec.indexPartOfStored(s.prop, exp);
        const enc = 'keep' in s ? exp : s.enc;
        const part = 'keep' in s ? oldPart : s.part;
        blocks.push(s.prop, enc, part === undefined ? 0 : position(this.indexKeyOf(s.prop, part)), exp, oldPart === undefined ? 0 : position(this.indexKeyOf(s.prop, oldPart)));
      });
      const reply = await conn.run(`repository.${op}`, (c) => runEntityScript(c, script, keys, args(blocks)));
      const outcome = interpretEntityReply(script, reply);
      if (outcome.kind !== 'stale') return outcome;
      expected = [...outcome.olds];
    }
    throw new EntityConflictError(this.meta.name, id, attempts);
  }

  private async remove(id: string, guess: readonly string[]): Promise<boolean> {
    const specs: BlockSpec[] = this.meta.indexed.map((prop) => ({ prop, enc: '', part: undefined }));
    if (specs.length === 0) {
      // Nothing to clean up: a plain UNLINK is the whole delete.
      const key = this.keyOf(id);
      return (await this.context.run('repository.delete', (c) => c.unlink(key))) === 1;
    }
    const outcome = await this.write('delete', 'deleteEntity', id, specs, guess, (blocks) => [id, specs.length, ...blocks]);
    this.seenIndexed.delete(id);
    return outcome.kind === 'done';
  }

  private async retime(id: string, ttl: string): Promise<boolean> {
    const specs: BlockSpec[] = this.meta.indexed.map((prop) => ({ prop, keep: true }));
    const outcome = await this.write('expire', 'updateEntity', id, specs, this.guessIndexed(id), (blocks) => [id, ttl, specs.length, ...blocks, 0]);
    return outcome.kind === 'done';
  }

  /** HGETALL of every key: one pipeline on a standalone server, one per node on Cluster. */
  private async readHashes(c: Redis | Cluster, keys: readonly string[]): Promise<Record<string, string>[]> {
    if (keys.length === 0) return [];
    const groups = c.isCluster ? groupByNode(c as Cluster, keys) : [keys.map((_, i) => i)];
    const out: Record<string, string>[] = new Array(keys.length);
    await Promise.all(
      groups.map(async (group) => {
        const p = c.pipeline();
        for (const i of group) p.hgetall(keys[i]);
        const replies = (await p.exec()) ?? [];
        group.forEach((i, j) => {
          const [err, raw] = replies[j] ?? [new Error('no reply')];
          if (err) throw err;
          out[i] = raw as Record<string, string>;
        });
      }),
    );
    return out;
  }

  /** HGET of one field of every key, grouped like {@link readHashes}. */
  private async readField(c: Redis | Cluster, keys: readonly string[], field: string): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    const groups = c.isCluster ? groupByNode(c as Cluster, keys) : [keys.map((_, i) => i)];
    const out: (string | null)[] = new Array(keys.length);
    await Promise.all(
      groups.map(async (group) => {
        const p = c.pipeline();
        for (const i of group) p.hget(keys[i], field);
        const replies = (await p.exec()) ?? [];
        group.forEach((i, j) => {
          const [err, raw] = replies[j] ?? [new Error('no reply')];
          if (err) throw err;
          out[i] = raw as string | null;
        });
      }),
    );
    return out;
  }

  /**
   * Round trip 1: the live ids of the index (expired members pruned). Round trip 2: each
   * candidate's hash (or just the queried field for counts), kept only when it still holds the
   * exact encoding of `value`: entities that vanished early or moved are skipped.
   */
  private async query(op: string, property: string, value: unknown, want: 'entities' | 'count'): Promise<{ found: { id: string; entity: T; indexedEncodings: string[] }[]; count: number }> {
    if (!this.meta.indexed.includes(property)) throw EntityMetadataError.notIndexed(this.meta.name, property);
    if (value === null || value === undefined) {
      throw new EntityValueError(this.meta.name, property, 'null and undefined are not indexed; query a string, number, boolean or Date.');
    }
    const part = this.codec.indexPart(property, value);
    const enc = this.codec.encodeValue(property, value);
    const indexKey = this.indexKeyOf(property, part);
    return this.context.run(op, async (c) => {
      const ids = await runEntityScript<string[]>(c, 'findIndex', [indexKey], []);
      const keys = ids.map((id) => this.keyOf(id));
      if (want === 'count') {
        const fields = await this.readField(c, keys, property);
        return { found: [], count: fields.filter((f) => f === enc).length };
      }
      const raws = await this.readHashes(c, keys);
      const found: { id: string; entity: T; indexedEncodings: string[] }[] = [];
      raws.forEach((raw, i) => {
        if (raw[property] !== enc) return;
        const entity = this.codec.decode<T>(keys[i], ids[i], raw);
        if (entity) {
          const indexedEncodings = this.meta.indexed.map((p) => raw[p] ?? '');
          this.rememberIndexed(ids[i], indexedEncodings);
          found.push({ id: ids[i], entity, indexedEncodings });
        }
      });
      return { found, count: found.length };
    });
  }

  // Cluster only: the entity write has happened; bring its index entries in line, in parallel.
  private async moveIndexEntries(op: string, id: string, specs: readonly BlockSpec[], outcome: Extract<EntityWriteOutcome, { kind: 'done' }>): Promise<void> {
    // A delete has no new entries, so its score is never used.
    const score = outcome.expiresAt === null ? 'inf' : String(outcome.expiresAt);
    const calls: [string, string][] = [];
    specs.forEach((s, i) => {
      const old = outcome.olds[i] ?? '';
      const oldPart = this.codec.indexPartOfStored(s.prop, old);
      const newPart = 'keep' in s ? oldPart : s.part;
      if (oldPart !== undefined && oldPart !== newPart) calls.push([this.indexKeyOf(s.prop, oldPart), 'del']);
      if (newPart !== undefined) calls.push([this.indexKeyOf(s.prop, newPart), score]);
    });
    await this.context.run(`repository.${op}`, (c) =>
      Promise.all(calls.map(([key, arg]) => runEntityScript(c, 'setIndexEntry', [key], [id, arg]))),
    );
  }
}
