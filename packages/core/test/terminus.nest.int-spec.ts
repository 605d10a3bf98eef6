import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { RedisConnection, TidyKvConfigError } from '@tidykv/core';
import { TidyKvHealthIndicator, registerTidyKvConnectionSource } from '@tidykv/core/terminus';
import { appUrl, readCommandStats, startRedis, type RedisTestServer } from '@tidykv/testing';

// Stand-ins for the providers where SessionModule and RepositoryModule keep their connections:
// real connections to a real Redis, registered the way the packages' /terminus subpaths do it.
@Injectable()
class FirstHolder {
  connection!: RedisConnection;
}
@Injectable()
class SecondHolder {
  connection!: RedisConnection;
}
@Injectable()
class HolderNoAppUses {}

registerTidyKvConnectionSource({ name: 'first', token: FirstHolder, connections: (p) => [{ label: 'first', connection: (p as FirstHolder).connection }] });
registerTidyKvConnectionSource({ name: 'second', token: SecondHolder, connections: (p) => [{ label: 'second', connection: (p as SecondHolder).connection }] });
registerTidyKvConnectionSource({
  name: 'absent',
  token: HolderNoAppUses,
  connections: () => {
    throw new Error('never asked: no app in this file provides HolderNoAppUses');
  },
});

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tidykv: TidyKvHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.tidykv.pingCheck('redis', { timeoutMs: 300 })]);
  }
}

async function appWith(holders: (typeof FirstHolder | typeof SecondHolder)[]): Promise<INestApplication> {
  @Module({ imports: [TerminusModule.forRoot({ logger: false })], providers: [TidyKvHealthIndicator, ...holders], controllers: [HealthController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.init();
  return app;
}

describe('TidyKvHealthIndicator', () => {
  let redis: RedisTestServer;
  const opened: RedisConnection[] = [];
  const connection = (): RedisConnection => {
    const c = RedisConnection.create({ url: redis.url });
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startRedis({ own: true });
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await redis?.close();
  });

  it('reports every connection of the app up, each under the module that uses it', async () => {
    const app = await appWith([FirstHolder, SecondHolder]);
    try {
      app.get(FirstHolder).connection = connection();
      app.get(SecondHolder).connection = connection();
      const result = await app.get(TidyKvHealthIndicator).pingCheck('redis');
      expect(result).toMatchObject({ redis: { status: 'up', connections: { first: { status: 'up', usedBy: ['first'] }, second: { status: 'up', usedBy: ['second'] } } } });
    } finally {
      await app.close();
    }
  });

  it('pings a client that two modules share once, naming both', async () => {
    const app = await appWith([FirstHolder, SecondHolder]);
    try {
      const shared = connection();
      app.get(FirstHolder).connection = shared;
      app.get(SecondHolder).connection = RedisConnection.create({ client: shared.client });
      const probe = redis.client();
      // countCommands leaves PING out as housekeeping; here PING is the command under test.
      const before = (await readCommandStats(probe)).ping ?? 0;
      const result = await app.get(TidyKvHealthIndicator).pingCheck('redis');
      const after = (await readCommandStats(probe)).ping ?? 0;
      expect(result).toMatchObject({ redis: { status: 'up', connections: { 'first+second': { status: 'up', usedBy: ['first', 'second'] } } } });
      expect(after - before).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('reports a connection down when it does not answer within timeoutMs, without waiting for its own deadline', async () => {
    const app = await appWith([FirstHolder]);
    const admin = redis.client();
    try {
      app.get(FirstHolder).connection = connection();
      await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
      const t0 = Date.now();
      const result = await app.get(TidyKvHealthIndicator).pingCheck('redis', { timeoutMs: 300 });
      expect(Date.now() - t0).toBeLessThan(1_800);
      expect(result).toMatchObject({ redis: { status: 'down', connections: { first: { status: 'down', error: 'no PONG within 300 ms' } } } });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      await app.close();
    }
  });

  it('makes the terminus check answer 503 while a connection is down', async () => {
    const app = await appWith([FirstHolder]);
    try {
      app.get(FirstHolder).connection = connection();
      await redis.stop();
      try {
        await app.listen(0, '127.0.0.1');
        const res = await fetch(`${appUrl(app)}/health`);
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ status: 'error', error: { redis: { status: 'down', connections: { first: { status: 'down' } } } } });
      } finally {
        await redis.start();
      }
    } finally {
      await app.close();
    }
  });

  it('reports down, naming the fix, when the app has no tidykv connection to check', async () => {
    const app = await appWith([]);
    try {
      const result = await app.get(TidyKvHealthIndicator).pingCheck('redis');
      expect(result).toMatchObject({ redis: { status: 'down', message: expect.stringContaining('No tidykv connection found') as unknown } });
    } finally {
      await app.close();
    }
  });

  it('refuses a timeoutMs that is not a positive number, naming the option', async () => {
    const app = await appWith([]);
    try {
      await expect(app.get(TidyKvHealthIndicator).pingCheck('redis', { timeoutMs: 0 })).rejects.toThrow(TidyKvConfigError);
      await expect(app.get(TidyKvHealthIndicator).pingCheck('redis', { timeoutMs: 0 })).rejects.toThrow('TidyKvHealthIndicator.pingCheck.timeoutMs');
    } finally {
      await app.close();
    }
  });
});
