export { RedisEntity, Id, TimeToLive, Indexed, Field } from './entity.decorator.js';
export type { RedisEntityOptions, IndexedKeys, IndexedValue } from './entity.decorator.js';
export type { EntityClass } from './entity.types.js';
export { EntityRepository } from './entity.repository.js';
export type { EntityPatch, ScanIdsOptions, EntityRepositoryContext } from './entity.repository.js';
export { RepositoryContext } from './repository-context.service.js';
export type { RepositoryClass, RepositoryContextExtras } from './repository-context.service.js';
export { RepositoryModule } from './repository.module.js';
export type { RepositoryFeature } from './repository.module.js';
export type { RepositoryModuleExtras, RepositoryModuleForRootOptions, RepositoryModuleAsyncOptions } from './repository.module-definition.js';
export { InjectRepository, getRepositoryToken } from './inject-repository.decorator.js';
export { REPOSITORY_MODULE_OPTIONS, REPOSITORY_CONTEXT } from './repository.constants.js';
export { DEFAULT_REPOSITORY_OPTIONS, validateRepositoryOptions } from './repository.options.js';
export type { RepositoryModuleOptions, ResolvedRepositoryOptions } from './repository.options.js';
export {
  TidyKvRepositoryError,
  TidyKvEntityMetadataError,
  TidyKvEntityValueError,
  TidyKvEntityConflictError,
  RepositoryError,
  EntityMetadataError,
  EntityValueError,
  EntityConflictError,
} from './repository.errors.js';
export type { RepositoryErrorCode } from './repository.errors.js';
// The core errors a repository's caller has to tell apart, so that an app needs no direct
// dependency on @tidykv/core to catch them.
export {
  TidyKvError,
  RedisUnavailableError,
  TidyKvOutcomeUnknownError,
  TidyKvConfigError,
  TidyKvCodecError,
  TidyKvDecodeError,
  TidyKvKeyError,
  isRedisFailure,
} from '@tidykv/core';
