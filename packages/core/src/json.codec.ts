import { TidyKvCodecError, TidyKvConfigError } from './tidykv.errors.js';

/**
 * Turns values into the strings stored in Redis hash fields and back. Implementations must
 * round-trip every value they accept and throw {@link TidyKvCodecError} for the rest, at encode
 * time, so that nothing that cannot be read back is ever written.
 */
export interface Codec {
  /** Short name, used in error messages and stored nowhere. */
  readonly name: string;
  encode(value: unknown): string;
  decode(raw: string): unknown;
}

// Tagged forms. A user key that starts with `$` is stored with one more `$`, so user data
// can never be mistaken for a tag and the tags need no other escaping.
const DATE_TAG = '$d';

/**
 * The default codec: JSON, extended so that `Date` (including invalid dates) round-trips.
 * Accepts strings, finite numbers, booleans, null, Dates, arrays and plain objects.
 * Rejects functions, symbols, bigints, NaN and Infinity, `undefined` inside arrays and sparse
 * arrays, cyclic or class-instance objects, Maps, Sets and symbol-keyed properties.
 * `undefined` object properties are dropped, as JSON does; `-0` decodes as `0`.
 * Decoding drops `__proto__` keys, so decoded data can never change a prototype; encoding refuses
 * them, since they would not read back.
 */
export const jsonCodec: Codec = Object.freeze({
  name: 'json',
  encode(value: unknown): string {
    // Fast path for the common attribute values: no walk, no allocation beyond the string.
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'number':
        if (Number.isFinite(value)) return JSON.stringify(value);
        break;
    }
    return JSON.stringify(toJsonable(value, '$', new Set()));
  },
  decode(raw: string): unknown {
    if (!raw.includes('"$') && !raw.includes('__proto__')) return JSON.parse(raw);
    return JSON.parse(raw, revive);
  },
});

function toJsonable(value: unknown, path: string, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw TidyKvCodecError.unsupported(path, String(value), 'JSON has no NaN or Infinity; store null or a string.');
      }
      return value;
    case 'undefined':
      throw TidyKvCodecError.unsupported(path, 'undefined', 'Use null, or remove the attribute instead of setting it to undefined.');
    case 'function':
      throw TidyKvCodecError.unsupported(path, 'a function', 'Store data, not behaviour.');
    case 'symbol':
      throw TidyKvCodecError.unsupported(path, 'a symbol', 'Store a string instead.');
    case 'bigint':
      throw TidyKvCodecError.unsupported(path, 'a bigint', 'Store it as a string, or plug in a codec that supports bigint.');
  }
  if (value === null) return null;
  const obj = value as object;
  if (obj instanceof Date) {
    const t = obj.getTime();
    return { [DATE_TAG]: Number.isNaN(t) ? null : t };
  }
  if (seen.has(obj)) throw TidyKvCodecError.unsupported(path, 'a cyclic reference', 'Break the cycle before storing the value.');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const out: unknown[] = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) {
        if (!(i in obj)) throw TidyKvCodecError.unsupported(`${path}[${i}]`, 'a hole in a sparse array', 'Fill it with null.');
        out[i] = toJsonable(obj[i], `${path}[${i}]`, seen);
      }
      return out;
    }
    const proto = Object.getPrototypeOf(obj) as { constructor?: { name?: string } } | null;
    if (proto !== Object.prototype && proto !== null) {
      const kind = `an instance of ${proto.constructor?.name ?? 'an unknown class'}`;
      throw TidyKvCodecError.unsupported(path, kind, 'Convert it to a plain object (or plug in a codec that knows the class).');
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) {
      throw TidyKvCodecError.unsupported(path, 'a symbol-keyed property', 'JSON drops symbol keys; use string keys.');
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[key];
      if (v === undefined) continue;
      // Decoding drops __proto__ keys (they could change a prototype), so one would not read back.
      if (key === '__proto__') throw TidyKvCodecError.unsupported(`${path}.__proto__`, 'a "__proto__" key', 'Decoded data never gets one back (it could change a prototype); rename the key.');
      const stored = key.startsWith('$') ? `$${key}` : key;
      Object.defineProperty(out, stored, { value: toJsonable(v, `${path}.${key}`, seen), enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

function revive(this: unknown, key: string, value: unknown): unknown {
  // Returning undefined deletes the property: a stored `__proto__` never reaches the caller.
  if (key === '__proto__') return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === DATE_TAG) {
    const t = (value as Record<string, unknown>)[DATE_TAG];
    return new Date(typeof t === 'number' ? t : Number.NaN);
  }
  if (!keys.some((k) => k.startsWith('$'))) return value;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const plain = k.startsWith('$') ? k.slice(1) : k;
    if (plain === '__proto__') continue;
    Object.defineProperty(out, plain, { value: (value as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Throws unless `codec` has `encode` and `decode` functions; `option` names it in the error. */
export function validateCodec(codec: unknown, option: string): Codec {
  const c = codec as Partial<Codec> | undefined;
  if (!c || typeof c.encode !== 'function' || typeof c.decode !== 'function') {
    throw TidyKvConfigError.invalid(option, codec, 'an object with encode(value): string and decode(raw): unknown', 'Omit it to use the JSON codec.');
  }
  return c as Codec;
}
