import { recordField, recordId, recordIndexed, recordTimeToLive, sealEntity, type AnyClass } from './internal/entity-metadata.js';

export type { EntityClass } from './entity.types.js';

/** Options of {@link RedisEntity}. */
export interface RedisEntityOptions {
  /**
   * Name of the entity kind, part of every key: `<keyPrefix><keyspace>:{<id>}`. 1-64 characters
   * from `[A-Za-z0-9_.-]`, except `s` and `u`, where @tidykv/session keeps its keys. Required.
   */
  keyspace: string;
  /**
   * Default TTL in seconds, applied on every save unless the instance's `@TimeToLive()` property
   * holds a value. Default: none (entities live until deleted).
   */
  ttl?: number;
}

/**
 * Marks a class as an entity stored as one Redis hash per instance. Validates the class's
 * declaration at once: a missing, malformed or reserved keyspace, a bad ttl or a missing `@Id()`
 * throws {@link TidyKvEntityMetadataError} while the module is being loaded.
 *
 * What is stored: the properties named by the decorators below, plus every own enumerable
 * property the instance carries when it is saved (so undecorated fields work whatever the
 * compiler's `useDefineForClassFields`); reads restore every stored field.
 */
export function RedisEntity(options: RedisEntityOptions): ClassDecorator {
  return (target) => {
    const o = (options ?? {}) as Partial<RedisEntityOptions>;
    sealEntity(target as unknown as AnyClass, o.keyspace, o.ttl);
  };
}

/** Marks the string property that identifies an entity. Exactly one per class; any characters are safe. */
export function Id(): PropertyDecorator {
  return (target, property) => recordId(target, property);
}

/**
 * Marks a numeric property holding this instance's TTL in seconds. When it holds a positive
 * number it wins over `@RedisEntity({ ttl })`; null or undefined falls back to that default.
 * The value is stored like any other property and read back as saved.
 */
export function TimeToLive(): PropertyDecorator {
  return (target, property) => recordTimeToLive(target, property);
}

/**
 * Makes a property queryable with `findBy`, `findOneBy`, `countBy` and `deleteBy`. Values must be
 * strings, numbers, booleans or Dates (null and undefined are stored but not indexed). Declare the
 * property as `Indexed<string>` (etc.) so that queries on it type-check and queries on any other
 * property do not.
 */
export function Indexed(): PropertyDecorator {
  return (target, property) => recordIndexed(target, property);
}

/**
 * Declares a stored property explicitly. Undecorated properties are stored too (every own
 * enumerable property of a saved instance is); declaring one makes reads strict about it: a
 * stored value of a declared property that does not decode raises `TidyKvDecodeError`, where an
 * undeclared field that does not decode is taken for foreign data and ignored.
 */
export function Field(): PropertyDecorator {
  return (target, property) => recordField(target, property);
}

declare const indexedBrand: unique symbol;

/**
 * Type of an `@Indexed()` property: `@Indexed() userId!: Indexed<string>`. It is the value type
 * itself (assign plain strings to it), with a compile-time-only brand from which
 * {@link IndexedKeys} derives the properties `findBy` accepts.
 */
export type Indexed<T extends string | number | boolean | Date> = T & { readonly [indexedBrand]?: true };

/** The properties of `T` declared as {@link Indexed}: the only ones `findBy` and friends accept. */
export type IndexedKeys<T> = {
  [K in keyof T]-?: typeof indexedBrand extends keyof NonNullable<T[K]> ? K : never;
}[keyof T] &
  string;

/** The plain value type of an indexed property, for query arguments. */
export type IndexedValue<T, K extends keyof T> = NonNullable<T[K]>;
