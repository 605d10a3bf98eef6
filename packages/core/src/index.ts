export {
  TidyKvError,
  TidyKvConfigError,
  TidyKvCodecError,
  TidyKvDecodeError,
  TidyKvKeyError,
  TidyKvScriptError,
  RedisUnavailableError,
  describe as describeValue,
} from './tidykv.errors.js';
export type { TidyKvErrorCode } from './tidykv.errors.js';
export { jsonCodec, validateCodec } from './json.codec.js';
export type { Codec } from './json.codec.js';
export { KeyBuilder, encodeKeyPart, decodeKeyPart, escapeGlob, validateKeyPrefix, MAX_ID_LENGTH } from './key-builder.js';
export { RedisConnection, validateConnectionOptions, isConnectionError } from './redis-connection.js';
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
export { LuaScriptSet, loadLuaScripts } from './lua-script-set.js';
export type { LuaScript } from './lua-script-set.js';
export { keySlot } from './key-slot.js';
