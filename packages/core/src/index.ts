export {
  TidyKvError,
  TidyKvConfigError,
  TidyKvCodecError,
  TidyKvDecodeError,
  TidyKvKeyError,
  TidyKvScriptError,
  RedisUnavailableError,
  TidyKvOutcomeUnknownError,
  isRedisFailure,
  describe as describeValue,
} from './tidykv.errors.js';
export type { TidyKvErrorCode } from './tidykv.errors.js';
export { TidyKvReply } from './tidykv.codes.js';
export { jsonCodec, validateCodec } from './json.codec.js';
export type { Codec } from './json.codec.js';
export { KeyBuilder, encodeKeyPart, decodeKeyPart, escapeGlob, validateKeyPrefix, MAX_ID_LENGTH } from './key-builder.js';
export { TidyKvKeys, isSessionIdShape, RESERVED_KEYSPACES, SESSION_ID_LENGTH, SESSION_TAG_LENGTH, SESSION_SECRET_LENGTH } from './key-layout.js';
export type { ParsedTidyKvKey } from './key-layout.js';
export { RedisConnection, validateConnectionOptions, isConnectionError, createRedisClient, provesNotSent } from './redis-connection.js';
export type { RunOptions, TidyKvLogger, RedisConnectionExtras } from './redis-connection.js';
export { DEFAULT_CONNECTION_OPTIONS } from './connection.options.js';
export type {
  RedisConnectionOptions,
  CommonConnectionOptions,
  UrlConnectionOptions,
  HostConnectionOptions,
  SentinelConnectionOptions,
  ClusterConnectionOptions,
  ExistingClientOptions,
} from './connection.options.js';
export { TidyKvScript, LuaScriptSet, attachScripts } from './lua-script.js';
export type { LuaSource, LuaCall } from './lua-script.js';
export { keySlot } from './key-slot.js';
export { tidykvMetrics, resetTidyKvMetrics } from './metrics.js';
export type { TidyKvMetrics } from './metrics.js';
