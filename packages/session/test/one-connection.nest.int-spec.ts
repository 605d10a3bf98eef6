import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EntityRepository, Id, Indexed, InjectRepository, RedisEntity, RepositoryModule } from '@tidykv/repository';
import { createRedisClient, Session, SessionModule, type HttpSession } from '@tidykv/session';
import { appUrl, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, SECRET } from './support/session-app.js';

// The documented way to give SessionModule and RepositoryModule one connection: create one
// client with createRedisClient and pass it to both as { client }.

@RedisEntity({ keyspace: 'note' })
class Note {
  @Id() id!: string;
  @Indexed() owner!: Indexed<string>;
}

@Controller()
class NotesController {
  constructor(@InjectRepository(Note) private readonly notes: EntityRepository<Note>) {}

  @Post('note')
  async add(@Session() s: HttpSession): Promise<{ n: number }> {
    s.set('owner', 'ada');
    await this.notes.save(Object.assign(new Note(), { id: 'n1', owner: 'ada' }));
    return { n: await this.notes.countBy('owner', 'ada') };
  }

  @Get('me')
  me(@Session() s: HttpSession): { owner: unknown } {
    return { owner: s.get('owner') };
  }
}

describe('one connection for SessionModule and RepositoryModule', () => {
  let redis: RedisTestServer;
  let shared: Redis;
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    shared = createRedisClient({ url: redis.url }, 'app-shared') as Redis;
    shared.on('error', () => undefined);
    @Module({
      imports: [SessionModule.forRoot({ connection: { client: shared }, secrets: [SECRET] }), RepositoryModule.forRoot({ connection: { client: shared } }), RepositoryModule.forFeature([Note])],
      controllers: [NotesController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = appUrl(app);
    close = () => app.close();
  });
  afterAll(async () => {
    await close?.();
    await shared?.quit();
    await redis?.close();
  });

  it('opens exactly one client and serves both modules through it', async () => {
    const a = new Agent(url);
    expect((await a.post('/note')).body).toEqual({ n: 1 });
    expect((await a.get('/me')).body).toEqual({ owner: 'ada' });
    const probe = redis.client({ connectionName: 'probe' });
    const list = (await probe.call('CLIENT', 'LIST')) as string;
    const names = list.trim().split('\n').map((l) => /name=(\S*)/.exec(l)?.[1]);
    expect(names.filter((n) => n !== 'probe')).toEqual(['app-shared']);
  });
});
