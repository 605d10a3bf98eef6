import { TidyKvError, TidyKvReply, TidyKvScriptError } from '@tidykv/core';

/** Stable codes of the errors @tidykv/repository raises (besides those of @tidykv/core). */
export type RepositoryErrorCode = 'TIDYKV_ENTITY_METADATA' | 'TIDYKV_ENTITY_VALUE' | 'TIDYKV_ENTITY_CONFLICT';

/** Base class of the errors specific to @tidykv/repository. Branch on `code`. */
export class TidyKvRepositoryError extends TidyKvError {
  declare readonly code: RepositoryErrorCode;

  constructor(code: RepositoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * An entity class is declared wrongly. Thrown while the class is being decorated or registered,
 * so a bad declaration stops the app at start-up, never in a request.
 */
export class TidyKvEntityMetadataError extends TidyKvRepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    message: string,
  ) {
    super('TIDYKV_ENTITY_METADATA', `Entity ${entity}: ${message}`);
  }

  /** A second `@Id()` on one class. */
  static duplicateId(entity: string, first: string, second: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `both "${first}" and "${second}" carry @Id(); keep exactly one.`);
  }

  /** `@RedisEntity` on a class without `@Id()`. */
  static missingId(entity: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, 'no property carries @Id(); mark the string property that identifies an entity.');
  }

  /** A second `@TimeToLive()` on one class. */
  static duplicateTimeToLive(entity: string, first: string, second: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `both "${first}" and "${second}" carry @TimeToLive(); keep at most one.`);
  }

  /** A decorated property whose declared type is not what the decorator needs. */
  static wrongType(entity: string, decorator: string, property: string, declared: string, expected: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `${decorator} on "${property}" needs a ${expected} property, but it is declared as ${declared}.`);
  }

  /** Bad `@RedisEntity` options. */
  static invalidOption(entity: string, option: string, value: string, expected: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `@RedisEntity({ ${option} }) received ${value}, expected ${expected}.`);
  }

  /** A keyspace that @tidykv/session's keys occupy under the same prefix. */
  static reservedKeyspace(entity: string, keyspace: string, reserved: readonly string[]): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(
      entity,
      `@RedisEntity({ keyspace: ${JSON.stringify(keyspace)} }) uses a reserved keyspace (${reserved.map((k) => `"${k}"`).join(', ')}): ` +
        '@tidykv/session keeps its session hashes at <prefix>s:{...} and its principal indexes at <prefix>u:{<4-character tag>}, and ' +
        'under the shared default prefix "tkv:" an entity key such as tkv:u:{abcd} would be a principal index. ' +
        `Pick a longer name, e.g. ${JSON.stringify(keyspace === 'u' ? 'user' : 'setting')}.`,
    );
  }

  /** A class used as an entity that lacks `@RedisEntity`. */
  static notAnEntity(entity: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, 'the class has no @RedisEntity({ keyspace }) decorator.');
  }

  /** A query on a property without `@Indexed()`. */
  static notIndexed(entity: string, property: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `"${property}" has no @Indexed(); only indexed properties can be queried.`);
  }

  /** Two decorators that contradict each other on one property. */
  static conflict(entity: string, property: string, message: string): TidyKvEntityMetadataError {
    return new TidyKvEntityMetadataError(entity, `"${property}": ${message}`);
  }
}

/** An entity value cannot be stored as given: a missing id, a bad TTL, an unindexable value. Nothing was written. */
export class TidyKvEntityValueError extends TidyKvRepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    /** The offending property. */
    readonly property: string,
    message: string,
  ) {
    super('TIDYKV_ENTITY_VALUE', `Entity ${entity}, property "${property}": ${message}`);
  }

  /** `property` holds a value the codec cannot read back (its message says why and what to store instead). */
  static notStorable(entity: string, property: string, reason: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(entity, property, reason);
  }

  /** A property name that cannot be a hash field of an entity. */
  static reservedName(entity: string, property: string, why: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(entity, property, `a property of this name cannot be stored: ${why} Rename the property.`);
  }

  /** The @Id() property does not hold a usable id. */
  static badId(entity: string, property: string, received: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(entity, property, `the @Id() property must hold a non-empty string, received ${received}.`);
  }

  /** The @TimeToLive() property holds something other than a positive number of seconds. */
  static badTimeToLive(entity: string, property: string, received: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(entity, property, `the @TimeToLive() property must hold a positive number of seconds, null or undefined; received ${received}.`);
  }

  /** An @Indexed() property holds a value that has no index key. */
  static notIndexable(entity: string, property: string, why?: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(
      entity,
      property,
      why ?? 'an @Indexed() property must hold a string, number, boolean, Date, null or undefined.',
    );
  }

  /** An argument of a repository call that is not what the call needs. */
  static badArgument(entity: string, argument: string, message: string): TidyKvEntityValueError {
    return new TidyKvEntityValueError(entity, argument, message);
  }
}

/**
 * A write kept losing a race against concurrent writes of the same entity's indexed values and
 * gave up. Nothing was written by the failed call; retrying it is safe.
 */
export class TidyKvEntityConflictError extends TidyKvRepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    /** The entity id. */
    readonly id: string,
    attempts: number,
  ) {
    super(
      'TIDYKV_ENTITY_CONFLICT',
      `Entity ${entity} "${id}": indexed values changed concurrently ${attempts} times in a row; nothing was written, retry the call ` +
        '(or raise RepositoryModule.maxConflictRetries if this entity is written that often).',
    );
  }

  /** `attempts` tries all found other indexed values stored than the ones they named keys for. */
  static retriesExhausted(entity: string, id: string, attempts: number): TidyKvEntityConflictError {
    return new TidyKvEntityConflictError(entity, id, attempts);
  }
}

// The names these classes had before every tidykv error class was named TidyKv*. Each alias is
// the same class object, so `instanceof` and `catch` blocks written against either name agree.
/** @deprecated Use {@link TidyKvRepositoryError} (the same class). */
export const RepositoryError = TidyKvRepositoryError;
/** @deprecated Use {@link TidyKvRepositoryError} (the same class). */
export type RepositoryError = TidyKvRepositoryError;
/** @deprecated Use {@link TidyKvEntityMetadataError} (the same class). */
export const EntityMetadataError = TidyKvEntityMetadataError;
/** @deprecated Use {@link TidyKvEntityMetadataError} (the same class). */
export type EntityMetadataError = TidyKvEntityMetadataError;
/** @deprecated Use {@link TidyKvEntityValueError} (the same class). */
export const EntityValueError = TidyKvEntityValueError;
/** @deprecated Use {@link TidyKvEntityValueError} (the same class). */
export type EntityValueError = TidyKvEntityValueError;
/** @deprecated Use {@link TidyKvEntityConflictError} (the same class). */
export const EntityConflictError = TidyKvEntityConflictError;
/** @deprecated Use {@link TidyKvEntityConflictError} (the same class). */
export type EntityConflictError = TidyKvEntityConflictError;

/** What one entity write script (saveEntity, updateEntity, one entry of deleteEntities) reported. */
export type EntityWriteOutcome =
  /** Written. `expiresAt` is the entity's absolute expiry in ms (null: none, or not needed); `olds` the indexed encodings it held before. */
  | { readonly kind: 'done'; readonly expiresAt: number | null; readonly olds: readonly string[] }
  /** The entity does not exist (or, for a guarded delete, no longer holds the guarded value): nothing written. */
  | { readonly kind: 'gone' }
  /** The stored indexed values are not the ones keys were named for: nothing written; retry with `olds`. */
  | { readonly kind: 'stale'; readonly olds: readonly string[] };

/**
 * The one place where the replies of the repository's scripts, their negative codes included,
 * are interpreted. Every entity reply is `{ status, expiresAtMs | -1, old_1 .. old_n }`: status 1
 * is done, {@link TidyKvReply.Gone} "no such entity", {@link TidyKvReply.Stale} "retry with these
 * stored values" (not an error for callers: the repository retries). Anything else is a
 * {@link TidyKvScriptError}: a bug or a script of another version.
 */
export function entityWriteOutcome(script: string, reply: unknown): EntityWriteOutcome {
  if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
    const olds = (reply.slice(2) as unknown[]).map((v) => (typeof v === 'string' ? v : ''));
    const status = reply[0] as TidyKvReply | 1;
    switch (status) {
      case 1:
        return { kind: 'done', expiresAt: reply[1] < 0 ? null : reply[1], olds };
      case TidyKvReply.Gone:
        return { kind: 'gone' };
      case TidyKvReply.Stale:
        return { kind: 'stale', olds };
    }
  }
  throw new TidyKvScriptError(script, reply);
}
