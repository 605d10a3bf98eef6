import { describeValue, RESERVED_KEYSPACES } from '@tidykv/core';
import type { EntityClass } from '../entity.types.js';
import { TidyKvEntityMetadataError as EntityMetadataError } from '../repository.errors.js';

export type { EntityClass };

/** What tidykv knows about one entity class, complete once `@RedisEntity` has run. */
export interface EntityMetadata {
  readonly target: EntityClass;
  readonly name: string;
  readonly keyspace: string;
  /** Default TTL in ms; undefined for entities that live until deleted. */
  readonly defaultTtlMs: number | undefined;
  readonly idProperty: string;
  readonly ttlProperty: string | undefined;
  /** `@Indexed` properties, in declaration order (the order of index blocks in the scripts). */
  readonly indexed: readonly string[];
  /**
   * Properties declared through tidykv decorators other than `@Id` (`@Field`, `@Indexed`,
   * `@TimeToLive`): always stored when defined, and read strictly (a value that does not decode
   * is an error, not foreign data).
   */
  readonly declared: readonly string[];
}

interface Pending {
  id?: string;
  ttl?: string;
  indexed: string[];
  declared: string[];
}

// One storage object for every decorator, keyed by class: property decorators run before the
// class decorator, so they collect into `pending` and `@RedisEntity` validates and seals.
const pending = new WeakMap<object, Pending>();
const sealed = new WeakMap<object, EntityMetadata>();

/** A class as decorators see it: anything with a name and a prototype. */
export type AnyClass = abstract new (...args: never[]) => unknown;

function pendingOf(target: object, property: string | symbol, decorator: string): { p: Pending; name: string; prop: string } {
  const ctor: AnyClass = typeof target === 'function' ? (target as AnyClass) : (target as { constructor: AnyClass }).constructor;
  const name = ctor?.name || 'anonymous class';
  if (typeof target === 'function') throw EntityMetadataError.conflict(name, String(property), `${decorator} cannot decorate a static property.`);
  if (typeof property !== 'string') throw EntityMetadataError.conflict(name, String(property), `${decorator} needs a string-named property, not a symbol.`);
  let p = pending.get(ctor);
  if (!p) {
    p = { indexed: [], declared: [] };
    pending.set(ctor, p);
  }
  return { p, name, prop: property };
}

function declaredType(target: object, property: string): AnyClass | undefined {
  const getMetadata = (Reflect as unknown as { getMetadata?: (k: string, t: object, p: string) => unknown }).getMetadata;
  const t = getMetadata?.('design:type', target, property);
  return typeof t === 'function' ? (t as AnyClass) : undefined;
}

// Design-time types that say "a union or something unknown": compilers differ (swc reports
// `number | null` as Object where tsc reports Number), so only clearly wrong types are refused.
const LOOSE = new Set<unknown>([Object]);

/** Records `@Id()`. */
export function recordId(target: object, property: string | symbol): void {
  const { p, name, prop } = pendingOf(target, property, '@Id()');
  if (p.id !== undefined && p.id !== prop) throw EntityMetadataError.duplicateId(name, p.id, prop);
  const t = declaredType(target, prop);
  // Ids become key parts; numbers would silently collide with their string forms ("1" vs 1).
  if (t && !LOOSE.has(t) && t !== String) throw EntityMetadataError.wrongType(name, '@Id()', prop, t.name, 'string');
  if (p.indexed.includes(prop) || p.ttl === prop) throw EntityMetadataError.conflict(name, prop, '@Id() cannot be combined with @Indexed() or @TimeToLive().');
  p.id = prop;
}

/** Records `@TimeToLive()`. */
export function recordTimeToLive(target: object, property: string | symbol): void {
  const { p, name, prop } = pendingOf(target, property, '@TimeToLive()');
  if (p.ttl !== undefined && p.ttl !== prop) throw EntityMetadataError.duplicateTimeToLive(name, p.ttl, prop);
  if (p.id === prop) throw EntityMetadataError.conflict(name, prop, '@Id() cannot be combined with @TimeToLive().');
  const t = declaredType(target, prop);
  if (t && !LOOSE.has(t) && t !== Number) throw EntityMetadataError.wrongType(name, '@TimeToLive()', prop, t.name, 'number (seconds)');
  p.ttl = prop;
  if (!p.declared.includes(prop)) p.declared.push(prop);
}

/** Records `@Indexed()`. */
export function recordIndexed(target: object, property: string | symbol): void {
  const { p, name, prop } = pendingOf(target, property, '@Indexed()');
  if (p.id === prop) throw EntityMetadataError.conflict(name, prop, 'the id is the key already; @Indexed() on it would duplicate every entity.');
  const t = declaredType(target, prop);
  // `Indexed<string>` is an intersection type, which TypeScript's metadata reports as Object:
  // only the plainly wrong declarations can be caught here; values are checked again on save.
  if (t === Array || t === Map || t === Set) throw EntityMetadataError.wrongType(name, '@Indexed()', prop, t.name, 'string, number, boolean or Date');
  if (!p.indexed.includes(prop)) p.indexed.push(prop);
  if (!p.declared.includes(prop)) p.declared.push(prop);
}

/** Records `@Field()`. */
export function recordField(target: object, property: string | symbol): void {
  const { p, name, prop } = pendingOf(target, property, '@Field()');
  if (p.id === prop) throw EntityMetadataError.conflict(name, prop, 'the id is stored in the key, not as a field.');
  if (!p.declared.includes(prop)) p.declared.push(prop);
}

const KEYSPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Validates and seals the metadata of `@RedisEntity({ keyspace, ttl })`. */
export function sealEntity(target: AnyClass, keyspace: unknown, ttl: unknown): void {
  const name = target.name || 'anonymous class';
  if (typeof keyspace !== 'string' || !KEYSPACE.test(keyspace)) {
    throw EntityMetadataError.invalidOption(
      name,
      'keyspace',
      keyspace === undefined ? 'nothing' : JSON.stringify(keyspace),
      // `:` is excluded so that a keyspace can never produce another keyspace's index keys.
      'a name of 1-64 characters from [A-Za-z0-9_.-], e.g. "refresh-token"',
    );
  }
  if (RESERVED_KEYSPACES.includes(keyspace)) throw EntityMetadataError.reservedKeyspace(name, keyspace, RESERVED_KEYSPACES);
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
    throw EntityMetadataError.invalidOption(name, 'ttl', describeValue(ttl), 'a positive number of seconds, or no ttl for entities that live until deleted');
  }
  const p = pending.get(target) ?? { indexed: [], declared: [] };
  if (p.id === undefined) throw EntityMetadataError.missingId(name);
  sealed.set(target, {
    target: target as EntityClass,
    name,
    keyspace,
    defaultTtlMs: ttl === undefined ? undefined : Math.max(1, Math.round(ttl * 1000)),
    idProperty: p.id,
    ttlProperty: p.ttl,
    indexed: Object.freeze([...p.indexed]),
    declared: Object.freeze([...p.declared]),
  });
}

/** The sealed metadata of `entity`; throws {@link TidyKvEntityMetadataError} for a class without `@RedisEntity`. */
export function getEntityMetadata(entity: AnyClass): EntityMetadata {
  const m = sealed.get(entity);
  if (!m) throw EntityMetadataError.notAnEntity(entity?.name || describeValue(entity));
  return m;
}
