import { describe, expect, it } from '@jest/globals';
import { jsonCodec } from './json.codec.js';
import { TidyKvCodecError } from './tidykv.errors.js';

const roundTrip = (v: unknown) => jsonCodec.decode(jsonCodec.encode(v));

describe('jsonCodec', () => {
  it.each([
    ['a string', 'héllo "wörld" 🎉'],
    ['an empty string', ''],
    ['an integer', 42],
    ['a float', -3.25],
    ['a large safe integer', Number.MAX_SAFE_INTEGER],
    ['true', true],
    ['false', false],
    ['null', null],
    ['a Date', new Date('2026-11-22T10:11:12.345Z')],
    ['an array of mixed values', [1, 'two', null, false, [3], { four: 4 }]],
    ['a nested object', { user: { id: 'u1', roles: ['a', 'b'], since: new Date(0) }, n: null }],
    ['keys that look like tags', { $d: 5, $$x: 'y', a$: 1, $: 2 }],
    ['an object shaped like a Date tag', { $d: 1700000000000 }],
    ['a string that looks like a tag', '{"$d":1}'],
    ['an empty object and array', { a: {}, b: [] }],
    ['constructor and prototype keys', { constructor: 'c', prototype: { x: 1 } }],
  ])('round-trips %s exactly', (_, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('round-trips an invalid Date as an invalid Date', () => {
    const d = roundTrip(new Date(Number.NaN)) as Date;
    expect(d).toBeInstanceOf(Date);
    expect(Number.isNaN(d.getTime())).toBe(true);
  });

  it('drops undefined object properties, as JSON does', () => {
    expect(roundTrip({ a: 1, b: undefined })).toStrictEqual({ a: 1 });
  });

  it('round-trips null-prototype objects as plain objects', () => {
    const o = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(o)).toStrictEqual({ a: 1 });
  });

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  it.each([
    ['a function', () => 1, '$'],
    ['a symbol', Symbol('s'), '$'],
    ['a bigint', 10n, '$'],
    ['NaN', Number.NaN, '$'],
    ['Infinity', { x: Infinity }, '$.x'],
    ['top-level undefined', undefined, '$'],
    ['undefined inside an array', [1, undefined], '$[1]'],
    ['a sparse array', [1, , 3], '$[1]'], // eslint-disable-line no-sparse-arrays
    ['a cyclic object', cyclic, '$.self'],
    ['a Map', new Map([[1, 2]]), '$'],
    ['a Set', { s: new Set([1]) }, '$.s'],
    ['a class instance', { c: new (class Point { x = 1; })() }, '$.c'],
    ['a symbol-keyed property', { [Symbol('k')]: 1 }, '$'],
    ['a function nested in an array', { list: [{ f: () => 0 }] }, '$.list[0].f'],
  ])('rejects %s with a typed error naming the path', (_, value, path) => {
    let err: unknown;
    try {
      jsonCodec.encode(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TidyKvCodecError);
    expect((err as TidyKvCodecError).code).toBe('TIDYKV_CODEC');
    expect((err as TidyKvCodecError).path).toBe(path);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(roundTrip({ a: shared, b: shared })).toStrictEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it('never pollutes prototypes when decoding __proto__ or constructor payloads', () => {
    const payloads = [
      '{"__proto__":{"polluted":"yes"}}',
      '{"a":{"__proto__":{"polluted":"yes"}}}',
      '{"$__proto__":{"polluted":"yes"}}',
      '{"$$__proto__":{"polluted":"yes"},"$d":1}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
    ];
    for (const p of payloads) {
      const decoded = jsonCodec.decode(p) as Record<string, unknown>;
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(decoded, '__proto__')).toBe(false);
      // Merging decoded data the usual way must not reach Object.prototype either.
      Object.assign({}, decoded);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});
