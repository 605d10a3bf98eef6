export { SessionModule } from './session.module.js';
export { SESSION_MODULE_OPTIONS } from './session.constants.js';
export { DEFAULT_SESSION_OPTIONS, validateSessionOptions } from './session.options.js';
export type { SessionModuleOptions, SessionCookieOptions, SessionNearCacheOptions, SessionSaveMode, SessionFlushMode } from './session.options.js';
export { DEFAULT_LEGACY_OPTIONS } from './session-legacy.options.js';
export type { SessionLegacyOptions, ConnectRedisLegacyOptions } from './session-legacy.options.js';
export { Session } from './session.decorator.js';
export { SessionAccessor } from './session-accessor.service.js';
export { SessionService } from './session.service.js';
export type { PrincipalSession } from './session.service.js';
export { HttpSession } from './http-session.model.js';
export type { SaveOutcome, SaveStatus } from './http-session.model.js';
export { TidyKvSessionError } from './session.errors.js';
export type { SessionErrorCode } from './session.errors.js';
export { SessionMiddleware } from './session.middleware.js';
// The core errors a session user must catch, so that apps need no direct dependency on @tidykv/core.
export { RedisUnavailableError, TidyKvOutcomeUnknownError, TidyKvConfigError, TidyKvCodecError, TidyKvDecodeError, TidyKvError, isRedisFailure, createRedisClient } from '@tidykv/core';
