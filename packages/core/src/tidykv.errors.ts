/** Stable machine-readable codes of every error tidykv's core raises. */
export type TidyKvErrorCode =
  | 'TIDYKV_CONFIG'
  | 'TIDYKV_CODEC'
  | 'TIDYKV_DECODE'
  | 'TIDYKV_KEY'
  | 'TIDYKV_SCRIPT'
  | 'TIDYKV_UNAVAILABLE'
  | 'TIDYKV_OUTCOME_UNKNOWN';

/**
 * Base class of every error tidykv throws. `code` is stable across releases and is what apps
 * should branch on; `message` explains the problem and how to fix it.
 */
export class TidyKvError extends Error {
  /** Stable code; see {@link TidyKvErrorCode} and the codes of the other tidykv packages. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option is missing or invalid. Thrown at start-up, never from a request. */
export class TidyKvConfigError extends TidyKvError {
  /** Dotted path of the offending option, e.g. `connection.cluster.nodes`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('TIDYKV_CONFIG', message);
    this.option = option;
  }

  /** `option` holds `value`, which is not what was `expected`; `fix` says what to do. */
  static invalid(option: string, value: unknown, expected: string, fix?: string): TidyKvConfigError {
    return new TidyKvConfigError(
      option,
      `Invalid tidykv option \`${option}\`: received ${describe(value)}, expected ${expected}.${fix ? ` ${fix}` : ''}`,
    );
  }
}

/** A value cannot be encoded so that it decodes back equal (a function, a cycle, `undefined` in an array...). */
export class TidyKvCodecError extends TidyKvError {
  /** Path inside the value, e.g. `$.items[2]`. */
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('TIDYKV_CODEC', message, options);
    this.path = path;
  }

  /** The value at `path` is of a kind the codec cannot round-trip. */
  static unsupported(path: string, kind: string, fix: string): TidyKvCodecError {
    return new TidyKvCodecError(path, `Cannot encode ${kind} at ${path}: it would not decode back equal. ${fix}`);
  }
}

/** Data stored in Redis cannot be decoded. Names the key and the field so an operator can look at it. */
export class TidyKvDecodeError extends TidyKvError {
  constructor(
    readonly key: string,
    readonly field: string | undefined,
    cause: unknown,
  ) {
    super(
      'TIDYKV_DECODE',
      `Cannot decode ${field === undefined ? '' : `field "${field}" of `}key "${key}": ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'The value was written by another codec or another program; fix or delete it (tidykv-audit lists such keys).',
      { cause },
    );
  }
}

/** An id or key part is unusable (empty, not a string, too long). */
export class TidyKvKeyError extends TidyKvError {
  constructor(message: string) {
    super('TIDYKV_KEY', message);
  }
}

/** A Lua script replied with a code the caller does not know: a bug or a mismatched script version. */
export class TidyKvScriptError extends TidyKvError {
  constructor(
    readonly script: string,
    readonly reply: unknown,
  ) {
    super('TIDYKV_SCRIPT', `Lua script ${script} returned an unexpected reply ${describe(reply)}.`);
  }
}

/**
 * Redis did not answer in time or the connection is down, and **nothing was applied**: the
 * operation only read, or it never reached Redis, or Redis refused it. Apps should map it to 503;
 * retrying is safe. The cause is the ioredis error.
 */
export class RedisUnavailableError extends TidyKvError {
  constructor(operation: string, cause: unknown) {
    super(
      'TIDYKV_UNAVAILABLE',
      `Redis is unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Check the connection options and that the server is up; requests fail fast until it returns.',
      { cause },
    );
  }
}

/** A short, safe rendering of a value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || typeof value !== 'object') return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const ctor = (value.constructor as { name?: string } | undefined)?.name;
  return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
}

/**
 * A write was sent to Redis and no reply came (the connection dropped, or the deadline passed while
 * Redis was paused or slow): it may or may not have been applied. Apps should map it to 503 with
 * this code, so that a client can tell it from {@link RedisUnavailableError}'s "nothing was applied".
 */
export class TidyKvOutcomeUnknownError extends TidyKvError {
  constructor(operation: string, cause: unknown) {
    super(
      'TIDYKV_OUTCOME_UNKNOWN',
      `The outcome of ${operation} is unknown: it was sent to Redis and no reply came (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'It may or may not have been applied; read the data back before retrying a write that must not happen twice.',
      { cause },
    );
  }
}

/** True for the two failures that mean "Redis could not be used": {@link RedisUnavailableError} and {@link TidyKvOutcomeUnknownError}. */
export function isRedisFailure(err: unknown): err is RedisUnavailableError | TidyKvOutcomeUnknownError {
  return err instanceof RedisUnavailableError || err instanceof TidyKvOutcomeUnknownError;
}
