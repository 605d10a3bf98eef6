import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runInThisContext } from 'node:vm';
import ts from 'typescript';
import { dbSize, flushAll, startRedis, type RedisTestServer } from '@tidykv/testing';
import * as repository from '../src/index.js';
import { RepositoryContext, type EntityRepository, type Indexed } from '../src/index.js';

// The README's quick-start entity, compiled the way the classic Nest tsconfig compiles it
// (target ES2021, no useDefineForClassFields): an undecorated field such as `issuedAt` is then no
// own property of `new RefreshToken()`, which is what broke entities that tidykv learnt by
// constructing them. This compiles the source with TypeScript itself and runs the output.
const SOURCE = `
import { RedisEntity, Id, Indexed, TimeToLive } from '@tidykv/repository';

@RedisEntity({ keyspace: 'refresh-token', ttl: 7 * 24 * 3600 })
export class RefreshToken {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
  @TimeToLive() ttl?: number;
  issuedAt!: Date;
  device?: { name: string; os: string } | null;
}
`;

interface RefreshToken {
  id: string;
  userId: Indexed<string>;
  ttl?: number;
  issuedAt: Date;
  device?: { name: string; os: string } | null;
}

function compileEs2021(): new () => RefreshToken {
  const out = ts.transpileModule(SOURCE, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2021,
      module: ts.ModuleKind.CommonJS,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      useDefineForClassFields: false,
    },
  });
  const exports: Record<string, unknown> = {};
  const require = (name: string): unknown => {
    if (name === '@tidykv/repository') return repository;
    throw new Error(`unexpected require(${name})`);
  };
  // The CommonJS output of one module, run with its own exports and require.
  const run = runInThisContext(`(function (exports, require) {\n${out.outputText}\n})`) as (e: object, r: (name: string) => unknown) => void;
  run(exports, require);
  return exports.RefreshToken as new () => RefreshToken;
}

describe('an entity compiled for ES2021 without useDefineForClassFields', () => {
  let server: RedisTestServer;
  let ctx: RepositoryContext;
  let RefreshTokenClass: new () => RefreshToken;
  let tokens: EntityRepository<RefreshToken>;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    ctx = RepositoryContext.create({ connection: { url: server.url } });
    RefreshTokenClass = compileEs2021();
    tokens = ctx.repository(RefreshTokenClass);
  });
  afterAll(async () => {
    await ctx?.close();
    await server?.close();
  });

  const token = (props: Partial<RefreshToken>) => Object.assign(new RefreshTokenClass(), props);

  it('really has no own properties on a fresh instance (the compiler setting is in force)', () => {
    expect(Object.keys(new RefreshTokenClass())).toEqual([]);
  });

  it('saves and reads back every property, the undecorated Date included', async () => {
    await flushAll(server.client());
    const t = token({ id: 'rt-1', userId: 'u1', issuedAt: new Date('2026-01-02T03:04:05.006Z'), device: { name: 'Pixel', os: 'Android' } });
    await tokens.save(t);
    const back = await tokens.findById('rt-1');
    expect(back).toBeInstanceOf(RefreshTokenClass);
    expect(back).toEqual(t);
    expect(back!.issuedAt).toBeInstanceOf(Date);
  });

  it('finds it by its @Indexed property and applies the class TTL', async () => {
    await flushAll(server.client());
    await tokens.save(token({ id: 'rt-2', userId: 'u2', issuedAt: new Date() }));
    expect((await tokens.findBy('userId', 'u2')).map((t) => t.id)).toEqual(['rt-2']);
    expect(await tokens.ttl('rt-2')).toBeGreaterThan(7 * 24 * 3600 - 5);
  });

  it('updates an undecorated property', async () => {
    await flushAll(server.client());
    await tokens.save(token({ id: 'rt-3', userId: 'u3', issuedAt: new Date(1) }));
    expect(await tokens.update('rt-3', { issuedAt: new Date(2), device: null })).toBe(true);
    expect(await tokens.findById('rt-3')).toEqual(token({ id: 'rt-3', userId: 'u3', issuedAt: new Date(2), device: null }));
    expect(await dbSize(server.client())).toBe(2);
  });
});
