import { describe, expect, it } from '@jest/globals';
import { TidyKvDecodeError } from '@tidykv/core';
import { Field, Id, Indexed, RedisEntity, TimeToLive } from '../entity.decorator.js';
import { EntityValueError } from '../repository.errors.js';
import { EntityCodec, MARKER_FIELD } from './entity-codec.js';
import { getEntityMetadata } from './entity-metadata.js';

@RedisEntity({ keyspace: 'thing', ttl: 10 })
class Thing {
  @Id() id!: string;
  @Indexed() owner!: Indexed<string>;
  @Indexed() at?: Indexed<Date> | null;
  @TimeToLive() ttl?: number | null;
  plain?: unknown;
}

@RedisEntity({ keyspace: 'bare' })
class Bare {
  @Id() id!: string;
}

@RedisEntity({ keyspace: 'ctor' })
class WithCtor {
  @Id() id: string;
  @Field() x: number;
  constructor(x: { id: string; x: number }) {
    this.id = x.id;
    this.x = x.x;
  }
}

const codec = new EntityCodec(getEntityMetadata(Thing));
const thing = (props: Partial<Thing>) => Object.assign(Object.create(Thing.prototype) as Thing, props);

describe('EntityCodec', () => {
  it('stores the own enumerable properties of the instance, whatever the class declares', () => {
    const t = Object.assign(thing({ id: 'i', owner: 'o' }), { adHoc: [1] });
    expect(Object.fromEntries(chunk(codec.encode(t).pairs))).toEqual({ owner: '"o"', adHoc: '[1]' });
  });

  it('stores a declared property that is not an own property (an accessor on the prototype)', () => {
    class Base {
      get computed(): number {
        return 42;
      }
    }
    class WithAccessor extends Base {
      @Id() id!: string;
    }
    Field()(WithAccessor.prototype, 'computed');
    RedisEntity({ keyspace: 'acc' })(WithAccessor);
    const c = new EntityCodec(getEntityMetadata(WithAccessor));
    expect(Object.fromEntries(chunk(c.encode(Object.assign(Object.create(WithAccessor.prototype) as object, { id: 'a' })).pairs))).toEqual({ computed: '42' });
  });

  it('never constructs the class: a constructor that needs arguments is never called', () => {
    const c = new EntityCodec(getEntityMetadata(WithCtor));
    expect(Object.fromEntries(chunk(c.encode(new WithCtor({ id: 'w', x: 3 })).pairs))).toEqual({ x: '3' });
  });

  it('refuses the marker field and __proto__ as property names', () => {
    expect(() => codec.encode(Object.assign(thing({ id: 'i', owner: 'o' }), { [MARKER_FIELD]: 1 }))).toThrow(/cannot be stored/);
    const hostile = JSON.parse('{"id":"i","owner":"o","__proto__":{"admin":true}}') as Thing;
    expect(() => codec.encode(hostile)).toThrow(EntityValueError);
    expect(() => codec.encodePatch('i', JSON.parse('{"__proto__":1}') as object)).toThrow(/__proto__/);
  });

  it('refuses a value holding a __proto__ key, which would not read back', () => {
    const value = JSON.parse('{"a":[{"__proto__":{"x":1}}]}') as unknown;
    expect(() => codec.encode(thing({ id: 'i', owner: 'o', plain: value }))).toThrow(/"__proto__" key at \$\.a\[0\]\.__proto__/);
  });

  it('encodes an update patch of any property except a changed id', () => {
    const p = codec.encodePatch('i', { id: 'i', owner: 'p', plain: undefined, extra: true });
    expect(p).toEqual({ pairs: ['owner', '"p"', 'extra', 'true'], removed: ['plain'], indexed: [{ prop: 'owner', enc: '"p"', part: 'p' }] });
    expect(() => codec.encodePatch('i', { id: 'j' })).toThrow(/cannot change the id/);
  });

  it('encodes every property as exact JSON, skips undefined ones, and decodes the same entity back', () => {
    const t = thing({ id: 'i', owner: 'o', at: new Date(7), ttl: null, plain: { a: [1, 'b', null, { c: true }] } });
    const enc = codec.encode(t);
    expect(enc.id).toBe('i');
    expect(Object.fromEntries(chunk(enc.pairs))).toEqual({ owner: '"o"', at: '{"$d":7}', ttl: 'null', plain: '{"a":[1,"b",null,{"c":true}]}' });
    expect(enc.indexedEncodings).toEqual(['"o"', '{"$d":7}']);
    expect(enc.indexedParts).toEqual(['o', '1970-01-01T00%3A00%3A00.007Z']);
    expect(enc.ttlMs).toBe(10_000);
    const back = codec.decode<Thing>('k', 'i', Object.fromEntries(chunk(enc.pairs)));
    expect(back).toEqual(t);
    expect(back).toBeInstanceOf(Thing);
  });

  it('uses the @TimeToLive value over the class default, and refuses a non-positive one', () => {
    expect(codec.encode(thing({ id: 'i', owner: 'o', ttl: 2.5 })).ttlMs).toBe(2500);
    expect(() => codec.encode(thing({ id: 'i', owner: 'o', ttl: 0 }))).toThrow(EntityValueError);
  });

  it('writes a marker field for an entity with no stored property, and decodes an empty reply as null', () => {
    const bare = new EntityCodec(getEntityMetadata(Bare));
    expect(bare.encode({ id: 'x' }).pairs).toEqual([MARKER_FIELD, '1']);
    expect(bare.decode('k', 'x', { [MARKER_FIELD]: '1' })).toEqual({ id: 'x' });
    expect(bare.decode('k', 'x', {})).toBeNull();
  });

  it('keeps index key parts distinct and safe: empty strings, braces, globs', () => {
    expect(codec.indexPart('owner', '')).toBe('%');
    expect(codec.indexPart('owner', '{a}*')).toBe('%7Ba%7D%2A');
    expect(codec.indexPart('owner', 42)).toBe('42');
    expect(codec.indexPartOfStored('owner', '"x y"')).toBe('x%20y');
    expect(codec.indexPartOfStored('owner', 'null')).toBeUndefined();
    expect(codec.indexPartOfStored('owner', 'garbage{')).toBeUndefined();
    expect(() => codec.indexPart('owner', ['a'])).toThrow(EntityValueError);
  });

  it('restores every stored field that decodes, declared or not', () => {
    expect(codec.decode('k', 'i', { owner: '"o"', stranger: '{"a":1}' })).toEqual(Object.assign(thing({ id: 'i', owner: 'o' }), { stranger: { a: 1 } }));
  });

  it('ignores the marker field, a field named like the id, and __proto__', () => {
    const raw: Record<string, string> = { [MARKER_FIELD]: '1', id: '"other"', owner: '"o"' };
    Object.defineProperty(raw, '__proto__', { value: '{"x":1}', enumerable: true });
    const back = codec.decode<Thing>('k', 'i', raw);
    expect(back).toEqual(thing({ id: 'i', owner: 'o' }));
    expect(Object.getPrototypeOf(back)).toBe(Thing.prototype);
  });

  it('names the key and the field of an undecodable declared field, and ignores undeclared fields that do not decode', () => {
    expect(codec.decode('k', 'i', { owner: '"o"', stranger: '{{{' })).toEqual(thing({ id: 'i', owner: 'o' }));
    const err = (() => {
      try {
        codec.decode('thing:{i}', 'i', { owner: 'not-json' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TidyKvDecodeError);
    expect(err).toMatchObject({ key: 'thing:{i}', field: 'owner' });
  });

  it('refuses a missing id', () => {
    expect(() => codec.encode(thing({ owner: 'o' }))).toThrow(/@Id\(\) property must hold a non-empty string/);
  });
});

function chunk(pairs: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push([pairs[i], pairs[i + 1]]);
  return out;
}
