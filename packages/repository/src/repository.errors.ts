import { TidyKvError } from '@tidykv/core';

/** Stable codes of the errors @tidykv/repository raises (besides those of @tidykv/core). */
export type RepositoryErrorCode = 'TIDYKV_ENTITY_METADATA' | 'TIDYKV_ENTITY_VALUE' | 'TIDYKV_ENTITY_CONFLICT';

/** Base class of the errors specific to @tidykv/repository. Branch on `code`. */
export class RepositoryError extends TidyKvError {
  declare readonly code: RepositoryErrorCode;

  constructor(code: RepositoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * An entity class is declared wrongly. Thrown while the class is being decorated or registered,
 * so a bad declaration stops the app at start-up, never in a request.
 */
export class EntityMetadataError extends RepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    message: string,
  ) {
    super('TIDYKV_ENTITY_METADATA', `Entity ${entity}: ${message}`);
  }

  /** A second `@Id()` on one class. */
  static duplicateId(entity: string, first: string, second: string): EntityMetadataError {
    return new EntityMetadataError(entity, `both "${first}" and "${second}" carry @Id(); keep exactly one.`);
  }

  /** `@RedisEntity` on a class without `@Id()`. */
  static missingId(entity: string): EntityMetadataError {
    return new EntityMetadataError(entity, 'no property carries @Id(); mark the string property that identifies an entity.');
  }

  /** A second `@TimeToLive()` on one class. */
  static duplicateTimeToLive(entity: string, first: string, second: string): EntityMetadataError {
    return new EntityMetadataError(entity, `both "${first}" and "${second}" carry @TimeToLive(); keep at most one.`);
  }

  /** A decorated property whose declared type is not what the decorator needs. */
  static wrongType(entity: string, decorator: string, property: string, declared: string, expected: string): EntityMetadataError {
    return new EntityMetadataError(entity, `${decorator} on "${property}" needs a ${expected} property, but it is declared as ${declared}.`);
  }

  /** Bad `@RedisEntity` options. */
  static invalidOption(entity: string, option: string, value: string, expected: string): EntityMetadataError {
    return new EntityMetadataError(entity, `@RedisEntity({ ${option} }) received ${value}, expected ${expected}.`);
  }

  /** A class used as an entity that lacks `@RedisEntity`. */
  static notAnEntity(entity: string): EntityMetadataError {
    return new EntityMetadataError(entity, 'the class has no @RedisEntity({ keyspace }) decorator.');
  }

  /** A query on a property without `@Indexed()`. */
  static notIndexed(entity: string, property: string): EntityMetadataError {
    return new EntityMetadataError(entity, `"${property}" has no @Indexed(); only indexed properties can be queried.`);
  }

  /** Two decorators that contradict each other on one property. */
  static conflict(entity: string, property: string, message: string): EntityMetadataError {
    return new EntityMetadataError(entity, `"${property}": ${message}`);
  }
}

/** An entity value cannot be stored as given: a missing id, a bad TTL, an unindexable value. Nothing was written. */
export class EntityValueError extends RepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    /** The offending property. */
    readonly property: string,
    message: string,
  ) {
    super('TIDYKV_ENTITY_VALUE', `Entity ${entity}, property "${property}": ${message}`);
  }
}

/**
 * A write kept losing a race against concurrent writes of the same entity's indexed values and
 * gave up. Nothing was written by the failed call; retrying it is safe.
 */
export class EntityConflictError extends RepositoryError {
  constructor(
    /** Name of the entity class. */
    readonly entity: string,
    /** The entity id. */
    readonly id: string,
    attempts: number,
  ) {
    super('TIDYKV_ENTITY_CONFLICT', `Entity ${entity} "${id}": indexed values changed concurrently ${attempts} times in a row; nothing was written, retry the call.`);
  }
}
