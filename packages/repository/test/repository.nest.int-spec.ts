import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TidyKvConfigError } from '@tidykv/core';
import { startRedis, type RedisTestServer } from '@tidykv/testing';
import {
  EntityRepository,
  getRepositoryToken,
  Id,
  Indexed,
  InjectRepository,
  REPOSITORY_CONTEXT,
  RedisEntity,
  RepositoryContext,
  RepositoryModule,
} from '../src/index.js';

@RedisEntity({ keyspace: 'nest-token', ttl: 30 })
class Token {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
}

@RedisEntity({ keyspace: 'nest-note' })
class Note {
  @Id() id!: string;
  text!: string;
}

/** A custom repository: domain methods on top of the base operations. */
class TokenRepository extends EntityRepository<Token> {
  async issue(userId: string): Promise<Token> {
    return this.save(Object.assign(new Token(), { id: `t-${userId}-${Math.random().toString(36).slice(2)}`, userId }));
  }

  revokeAll(userId: string): Promise<number> {
    return this.deleteBy('userId', userId);
  }
}

@Injectable()
class NotesService {
  constructor(@InjectRepository(Note) readonly notes: EntityRepository<Note>) {}
}

@Injectable()
class TokensService {
  constructor(
    readonly tokens: TokenRepository,
    @InjectRepository(Token) readonly byToken: TokenRepository,
  ) {}
}

@Module({ imports: [RepositoryModule.forFeature([Note])], providers: [NotesService], exports: [NotesService] })
class NotesModule {}

@Module({ imports: [RepositoryModule.forFeature([{ entity: Token, repository: TokenRepository }])], providers: [TokensService], exports: [TokensService] })
class TokensModule {}

// Nest wiring on the Express platform; re-run against Nest 11 by jest.nest11.config.js.
describe('RepositoryModule (Nest)', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true });
  });
  afterAll(() => server.close());

  it('forRoot + forFeature + @InjectRepository, with a custom repository injectable by class and by token', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RepositoryModule.forRoot({ connection: { url: server.url }, keyPrefix: 'nest:' }), NotesModule, TokensModule],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const notes = app.get(NotesService).notes;
    expect(notes).toBeInstanceOf(EntityRepository);
    await notes.save(Object.assign(new Note(), { id: 'n1', text: 'hello' }));
    expect((await notes.findById('n1'))?.text).toBe('hello');
    expect(await server.client().exists('nest:nest-note:{n1}')).toBe(1);

    const svc = app.get(TokensService);
    expect(svc.tokens).toBeInstanceOf(TokenRepository);
    expect(svc.byToken).toBe(svc.tokens);
    await svc.tokens.issue('u1');
    await svc.tokens.issue('u1');
    expect(await svc.tokens.countBy('userId', 'u1')).toBe(2);
    expect(await svc.tokens.revokeAll('u1')).toBe(2);

    const client = app.get<RepositoryContext>(REPOSITORY_CONTEXT).connection.client;
    await app.close();
    // The connection tidykv opened is closed with the app.
    expect(client.status).toBe('end');
  });

  it('forRootAsync takes its options from a factory, and leaves an app-owned client open', async () => {
    const own = server.client();
    @Module({ providers: [{ provide: 'REDIS', useValue: own }], exports: ['REDIS'] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        RepositoryModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['REDIS'],
          useFactory: (client: typeof own) => ({ connection: { client } }),
        }),
        NotesModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    await app.get(NotesService).notes.save(Object.assign(new Note(), { id: 'n2', text: 'async' }));
    expect(await own.hget('tkv:nest-note:{n2}', 'text')).toBe('"async"');
    await app.close();
    expect(own.status).toBe('ready');
  });

  it('given an app-owned client, opens no connection of its own (one client can serve every tidykv module)', async () => {
    // The README's "One connection": one ioredis client, created with the options tidykv gives
    // its own connections, provided once and handed to each module as { client }.
    const shared = server.client({ connectionName: 'app-shared', enableOfflineQueue: false, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    await new Promise<void>((resolve) => (shared.status === 'ready' ? resolve() : shared.once('ready', () => resolve())));
    @Module({ providers: [{ provide: 'REDIS', useValue: shared }], exports: ['REDIS'] })
    class RedisClientModule {}
    const inspect = server.client({ connectionName: 'inspect' });
    const names = async () =>
      ((await inspect.client('LIST')) as string)
        .trim()
        .split('\n')
        .map((l) => /name=(\S*)/.exec(l)?.[1] ?? '')
        .sort();
    const before = await names();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RepositoryModule.forRootAsync({ imports: [RedisClientModule], inject: ['REDIS'], useFactory: (client: typeof shared) => ({ connection: { client } }) }),
        NotesModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    await app.get(NotesService).notes.save(Object.assign(new Note(), { id: 'n3', text: 'shared' }));
    expect(await app.get(NotesService).notes.findById('n3')).toEqual(Object.assign(new Note(), { id: 'n3', text: 'shared' }));
    expect(await names()).toEqual(before);
    expect(before.filter((n) => n === 'app-shared')).toHaveLength(1);
    await app.close();
    expect(shared.status).toBe('ready');
  });

  it('getRepositoryToken lets a test replace a repository with a double', async () => {
    const fake = { findById: async () => ({ id: 'fake', text: 'double' }) };
    const moduleRef = await Test.createTestingModule({
      imports: [RepositoryModule.forRoot({ connection: { url: server.url } }), NotesModule],
    })
      .overrideProvider(getRepositoryToken(Note))
      .useValue(fake)
      .compile();
    expect(await moduleRef.get(NotesService).notes.findById('x')).toEqual({ id: 'fake', text: 'double' });
    await moduleRef.close();
  });

  it('fails at start-up with errors that name the option and the fix', async () => {
    const bad = Test.createTestingModule({ imports: [RepositoryModule.forRoot({ connection: { url: server.url }, keyPrefix: 'has{brace}' })] }).compile();
    await expect(bad).rejects.toBeInstanceOf(TidyKvConfigError);
    await expect(
      Test.createTestingModule({ imports: [RepositoryModule.forRoot({ connection: { url: server.url }, keyPrefix: 'has{brace}' })] }).compile(),
    ).rejects.toThrow(/RepositoryModule\.keyPrefix/);
    expect(() => RepositoryModule.forFeature([undefined as never])).toThrow(/circular import/);
    expect(() => RepositoryModule.forFeature([class NotAnEntity {}])).toThrow(/has no @RedisEntity/);
    expect(() => InjectRepository(undefined as never)).toThrow(/circular import/);
  });
});
