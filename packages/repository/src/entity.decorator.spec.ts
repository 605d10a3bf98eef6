import { describe, expect, it } from '@jest/globals';
import { Field, Id, Indexed, RedisEntity, TimeToLive, type IndexedKeys } from './entity.decorator.js';
import { getEntityMetadata } from './internal/entity-metadata.js';
import { EntityMetadataError } from './repository.errors.js';
import type { EntityRepository } from './entity.repository.js';

// Declaring a class runs its decorators, so each bad declaration lives inside a function the
// test calls and expects to throw.
describe('entity decorators', () => {
  it('seal the metadata of a well-formed entity', () => {
    @RedisEntity({ keyspace: 'token', ttl: 1.5 })
    class Token {
      @Id() id!: string;
      @Indexed() userId!: Indexed<string>;
      @Indexed() kind?: Indexed<string>;
      @TimeToLive() ttl?: number;
      @Field() note?: string;
    }
    expect(getEntityMetadata(Token)).toMatchObject({
      name: 'Token',
      keyspace: 'token',
      defaultTtlMs: 1500,
      idProperty: 'id',
      ttlProperty: 'ttl',
      indexed: ['userId', 'kind'],
    });
  });

  it('rejects two @Id properties', () => {
    const declare = () => {
      @RedisEntity({ keyspace: 'x' })
      class Twice {
        @Id() a!: string;
        @Id() b!: string;
      }
      return Twice;
    };
    expect(declare).toThrow(EntityMetadataError);
    expect(declare).toThrow(/both "a" and "b" carry @Id/);
  });

  it('rejects a class without @Id', () => {
    expect(() => {
      @RedisEntity({ keyspace: 'x' })
      class NoId {
        name!: string;
      }
      return NoId;
    }).toThrow(/no property carries @Id/);
  });

  it('rejects a non-numeric @TimeToLive', () => {
    expect(() => {
      class BadTtl {
        @TimeToLive() ttl!: string;
      }
      return BadTtl;
    }).toThrow(/@TimeToLive\(\) on "ttl" needs a number \(seconds\) property, but it is declared as String/);
  });

  it('rejects a non-string @Id and two @TimeToLive properties', () => {
    expect(() => {
      class NumId {
        @Id() id!: number;
      }
      return NumId;
    }).toThrow(/needs a string property/);
    expect(() => {
      class TwoTtl {
        @TimeToLive() a!: number;
        @TimeToLive() b!: number;
      }
      return TwoTtl;
    }).toThrow(/@TimeToLive\(\); keep at most one/);
  });

  it.each([
    [undefined, /keyspace.*received nothing/],
    ['', /keyspace/],
    ['has:colon', /keyspace/],
    ['{tag}', /keyspace/],
  ])('rejects keyspace %p', (keyspace, message) => {
    expect(() => {
      @RedisEntity({ keyspace } as never)
      class K {
        @Id() id!: string;
      }
      return K;
    }).toThrow(message);
  });

  it.each(['s', 'u'])('rejects the keyspace %p that @tidykv/session uses, naming the fix', (keyspace) => {
    expect(() => {
      @RedisEntity({ keyspace })
      class K {
        @Id() id!: string;
      }
      return K;
    }).toThrow(/reserved keyspace.*principal indexes.*Pick a longer name/);
  });

  it.each([0, -1, Number.NaN, '10'])('rejects ttl %p', (ttl) => {
    expect(() => {
      @RedisEntity({ keyspace: 'k', ttl } as never)
      class K {
        @Id() id!: string;
      }
      return K;
    }).toThrow(/ttl/);
  });

  it('rejects @Indexed on the id or on an array, and undecorated classes at registration', () => {
    expect(() => {
      class K {
        @Indexed() @Id() id!: string;
      }
      return K;
    }).toThrow(EntityMetadataError);
    expect(() => {
      class K {
        @Indexed() tags!: string[];
      }
      return K;
    }).toThrow(/@Indexed\(\) on "tags"/);
    class Plain {}
    expect(() => getEntityMetadata(Plain)).toThrow(/has no @RedisEntity/);
  });

  it('types: findBy accepts only Indexed properties, with their value type', () => {
    class Doc {
      id!: string;
      owner!: Indexed<string>;
      rank?: Indexed<number> | null;
      title!: string;
    }
    const keys: IndexedKeys<Doc>[] = ['owner', 'rank'];
    expect(keys).toHaveLength(2);
    // Compile-time checks: `tsc -p tsconfig.test.json --noEmit` fails if any line below type-checks
    // differently. The function is never called; only its types matter.
    const typeChecks = (repo: EntityRepository<Doc>) => {
      void repo.findBy('owner', 'alice');
      void repo.countBy('rank', 3);
      // @ts-expect-error `title` is not @Indexed, so it cannot be queried.
      void repo.findBy('title', 'x');
      // @ts-expect-error the value must have the property's type.
      void repo.findBy('rank', 'three');
      // @ts-expect-error `id` is not a query property either.
      void repo.deleteBy('id', 'x');
    };
    expect(typeof typeChecks).toBe('function');
  });
});
