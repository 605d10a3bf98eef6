import type { Cluster, Redis } from 'ioredis';
import type { KeyBuilder, RedisConnection, RunOptions, TidyKvKeys } from '@tidykv/core';
import type { IndexedKeys, IndexedValue } from './entity.decorator.js';
import type { EntityClass } from './entity.types.js';
import { EntityCodec } from './internal/entity-codec.js';
import { getEntityMetadata, type EntityMetadata } from './internal/entity-metadata.js';
import { EntityProtocol } from './internal/entity-protocol.js';
import type { RepositoryDriver } from './internal/repository-driver.js';
import { TidyKvEntityMetadataError as EntityMetadataError, TidyKvEntityValueError as EntityValueError } from './repository.errors.js';
import type { ResolvedRepositoryOptions } from './repository.options.js';

/** Options of {@link EntityRepository.ids}. */
export interface ScanIdsOptions {
  /** SCAN COUNT hint per call. Default: 1000. */
  count?: number;
}

/** A partial entity for {@link EntityRepository.update}: any stored properties except the id. */
export type EntityPatch<T> = { [K in keyof T]?: T[K] };

/** A repository class: {@link EntityRepository} or a subclass with the same constructor. */
export type RepositoryClass<T extends object, R extends EntityRepository<T> = EntityRepository<T>> = new (
  entity: EntityClass<T>,
  context: EntityRepositoryContext,
) => R;

/**
 * What a repository is created with: `RepositoryContext` is the implementation (declared here,
 * by what repositories use of it, so that the repository does not import the context that
 * creates repositories).
 */
export interface EntityRepositoryContext {
  /** The Redis connection. */
  readonly connection: RedisConnection;
  /** The validated options. */
  readonly options: ResolvedRepositoryOptions;
  /**
   * Builds `<keyPrefix><keyspace>:{<id>}` keys.
   * @deprecated Use {@link layout}, the key layout of @tidykv/core that builds every tidykv key.
   */
  readonly keys: KeyBuilder;
  /** The key layout (entity and index keys, their SCAN globs) under this context's prefix. */
  readonly layout: TidyKvKeys;
  /** True when the connection is a Redis Cluster. */
  readonly isCluster: boolean;
  /** @internal What the repositories of this context share beyond the public members. */
  readonly driver: RepositoryDriver;
  /** Runs `fn` under the connection's deadline; see `RepositoryContext.run`. */
  run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>, options?: RunOptions): Promise<T>;
  /** Key of the index sorted set of `property` = the value whose key part is `part`. */
  indexKey(keyspace: string, property: string, part: string): string;
  /** A repository for `entity`, of class `repositoryClass` (default {@link EntityRepository}). */
  repository<U extends object, R extends EntityRepository<U> = EntityRepository<U>>(entity: EntityClass<U>, repositoryClass?: RepositoryClass<U, R>): R;
  /** Closes the connection if tidykv opened it. */
  close(): Promise<void>;
}

/**
 * Stores entities of one class as one Redis hash each, at `<keyPrefix><keyspace>:{<id>}`, with
 * sorted-set indexes for `@Indexed()` properties that expire with their entities. Extend it for
 * custom repositories (keep the constructor) and register them with
 * `RepositoryModule.forFeature([{ entity, repository }])`.
 *
 * Consistency: on a standalone server (or Sentinel) every write of an entity and its index
 * entries is one atomic command or script. On Cluster, the entity write is atomic (hash + TTL)
 * and its index entries are updated right after, in their own slots; reads verify every index
 * hit against the entity, so a query never returns or counts an entity that does not currently
 * hold the queried value.
 *
 * Failures: `RedisUnavailableError` means nothing was applied; `TidyKvOutcomeUnknownError` means
 * a write was sent and no reply came (every write is safe to repeat). Both come within the
 * connection's `commandTimeoutMs`, however many commands the call takes.
 */
export class EntityRepository<T extends object> {
  /** The entity's metadata. */
  protected readonly meta: EntityMetadata;
  /** Converts between entities and hash fields. */
  protected readonly codec: EntityCodec;
  private readonly protocol: EntityProtocol;

  constructor(
    /** The entity class. */
    readonly entity: EntityClass<T>,
    /** Connection, key layout and scripts shared with the app's other repositories. */
    protected readonly context: EntityRepositoryContext,
  ) {
    this.meta = getEntityMetadata(entity);
    this.codec = new EntityCodec(this.meta);
    this.protocol = new EntityProtocol(this.meta, this.codec, context.driver);
  }

  /** The Redis key of entity `id`. Throws {@link TidyKvKeyError} for an empty, non-string or too long id. */
  keyOf(id: string): string {
    return this.protocol.keyOf(id);
  }

  // ------------------------------------------------------------------ writes

  /**
   * Inserts or replaces `entity` (properties it no longer has are removed) and applies its TTL in
   * the same atomic step: the instance's `@TimeToLive` value, else the class `ttl`, else the TTL
   * the stored entity already had. Stores the decorated properties and every own enumerable
   * property of the instance. One round trip on a standalone server, also when it changes an
   * indexed value this process read or wrote last; two when the stored indexed value is one it
   * has not seen (written by another process). On Cluster, one more for index entries. Returns `entity`.
   */
  async save(entity: T): Promise<T> {
    await this.protocol.save(this.codec.encode(entity));
    return entity;
  }

  /** Saves every entity concurrently (see {@link save}). */
  async saveMany(entities: readonly T[]): Promise<T[]> {
    // Encode all first, so that one bad entity writes nothing.
    const encoded = entities.map((e) => this.codec.encode(e));
    await Promise.all(encoded.map((enc) => this.protocol.save(enc)));
    return [...entities];
  }

  /**
   * Changes the given properties of an existing entity and keeps its TTL (also when the patch
   * changes the `@TimeToLive` property: use {@link expire} to change the TTL). Any property but
   * the id may be patched; properties set to undefined are removed. Returns false, writing
   * nothing, when the entity does not exist (an update never recreates a deleted or expired entity).
   */
  async update(id: string, patch: EntityPatch<T>): Promise<boolean> {
    if (patch === null || typeof patch !== 'object') {
      throw EntityValueError.badArgument(this.meta.name, '(patch)', `update() needs an object of properties, received ${patch === null ? 'null' : typeof patch}.`);
    }
    this.keyOf(id);
    return this.protocol.update(id, this.codec.encodePatch(id, patch));
  }

  /** Deletes entity `id` and its index entries. Returns false when it did not exist. */
  async deleteById(id: string): Promise<boolean> {
    this.keyOf(id);
    const [done] = await this.protocol.remove('repository.deleteById', [{ id, guess: this.protocol.guess(id) }]);
    return done;
  }

  /** Deletes `entity` (by its id). Returns false when it did not exist. */
  async delete(entity: T): Promise<boolean> {
    const id = this.codec.idOf(entity);
    this.keyOf(id);
    // The entity's own indexed values are the best guess of what is stored: one round trip when right.
    const [done] = await this.protocol.remove('repository.delete', [{ id, guess: this.codec.indexed(entity as Record<string, unknown>).encodings }]);
    return done;
  }

  /**
   * Deletes every given entity or id; returns how many existed. On a standalone server this is
   * one round trip whatever their number (one script).
   */
  async deleteMany(items: readonly (T | string)[]): Promise<number> {
    const targets = items.map((x) => {
      const id = typeof x === 'string' ? x : this.codec.idOf(x);
      this.keyOf(id);
      return { id, guess: typeof x === 'string' ? this.protocol.guess(id) : this.codec.indexed(x as Record<string, unknown>).encodings };
    });
    return (await this.protocol.remove('repository.deleteMany', targets)).filter(Boolean).length;
  }

  /**
   * Sets the TTL of entity `id` to `seconds` (index entries follow). Returns false when it does
   * not exist.
   */
  async expire(id: string, seconds: number): Promise<boolean> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
      throw EntityValueError.badArgument(this.meta.name, '(ttl)', `expire() needs a positive number of seconds, received ${String(seconds)}.`);
    }
    this.keyOf(id);
    return this.protocol.retime(id, Math.max(1, Math.round(seconds * 1000)));
  }

  /** Removes the TTL of entity `id`: it lives until deleted. Returns false when it does not exist. */
  async persist(id: string): Promise<boolean> {
    this.keyOf(id);
    return this.protocol.retime(id, 'persist');
  }

  // ------------------------------------------------------------------ reads

  /** The entity `id`, or null when it does not exist (never an empty "ghost" object). One round trip, one command. */
  async findById(id: string): Promise<T | null> {
    const key = this.keyOf(id);
    const raw = await this.context.run('repository.findById', (c) => c.hgetall(key));
    const entity = this.codec.decode<T>(key, id, raw);
    if (entity) this.protocol.rememberStored(id, raw);
    return entity;
  }

  /**
   * The entities with the given ids, in the same order, null for missing ones. One round trip
   * on a standalone server; on Cluster one per node, in parallel.
   */
  async findManyById(ids: readonly string[]): Promise<(T | null)[]> {
    const keys = ids.map((id) => this.keyOf(id));
    const raws = await this.context.run('repository.findManyById', (c) => this.protocol.readHashes(c, keys));
    return raws.map((raw, i) => {
      const entity = this.codec.decode<T>(keys[i], ids[i], raw);
      if (entity) this.protocol.rememberStored(ids[i], raw);
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
   * The entities whose `property` currently equals `value`, soonest to expire first. Two round
   * trips whatever the number of results: the index's members (one ZRANGE), then the entities
   * (one pipeline per node), each verified against the value so that an expired, deleted or
   * changed entity is never returned.
   */
  async findBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<T[]> {
    const { part, enc } = this.queryOf(property, value);
    return this.context.run('repository.findBy', async (c) => {
      const ids = await this.protocol.members(c, property, part);
      const keys = ids.map((id) => this.keyOf(id));
      const raws = await this.protocol.readHashes(c, keys);
      const found: T[] = [];
      raws.forEach((raw, i) => {
        if (raw[property] !== enc) return;
        const entity = this.codec.decode<T>(keys[i], ids[i], raw);
        if (!entity) return;
        this.protocol.rememberStored(ids[i], raw);
        found.push(entity);
      });
      return found;
    });
  }

  /** The first entity (soonest to expire) whose `property` equals `value`, or null. Two round trips. */
  async findOneBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<T | null> {
    return (await this.findBy(property, value))[0] ?? null;
  }

  /** How many entities currently have `property` = `value`, verified like {@link findBy}. Two round trips. */
  async countBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<number> {
    const { part, enc } = this.queryOf(property, value);
    return this.context.run('repository.countBy', async (c) => {
      const ids = await this.protocol.members(c, property, part);
      const fields = await this.protocol.readField(
        c,
        ids.map((id) => this.keyOf(id)),
        property,
      );
      return fields.filter((f) => f === enc).length;
    });
  }

  /**
   * Deletes every entity whose `property` equals `value` ("revoke every token of user X") with
   * their index entries, and returns how many were deleted. An entity that stops holding the value
   * meanwhile is left alone. Two round trips on a standalone server (the index, then one script
   * for all of them, three when another indexed property of theirs is not the one this process
   * last saw); on Cluster, one per entity after the first, in parallel.
   */
  async deleteBy<K extends IndexedKeys<T>>(property: K, value: IndexedValue<T, K>): Promise<number> {
    const { part, enc } = this.queryOf(property, value);
    return this.protocol.removeBy('repository.deleteBy', property, enc, part);
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
    const layout = this.context.layout;
    const glob = layout.entityGlob(this.meta.keyspace);
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.context.run('repository.ids', () => node.scan(cursor, 'MATCH', glob, 'COUNT', count));
        cursor = next;
        for (const key of keys) {
          // MATCH is a glob: the layout re-checks the exact shape, so a stray key cannot pass for an entity.
          const id = layout.entityIdOf(this.meta.keyspace, key);
          if (id !== undefined) yield id;
        }
      } while (cursor !== '0');
    }
  }

  private queryOf(property: string, value: unknown): { part: string; enc: string } {
    if (!this.meta.indexed.includes(property)) throw EntityMetadataError.notIndexed(this.meta.name, property);
    if (value === null || value === undefined) {
      throw EntityValueError.badArgument(this.meta.name, property, 'null and undefined are not indexed; query a string, number, boolean or Date.');
    }
    return { part: this.codec.indexPart(property, value), enc: this.codec.encodeValue(property, value) };
  }
}
