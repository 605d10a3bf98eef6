import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Post, UseGuards, type CanActivate, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Session, SessionAccessor, SessionModule, type HttpSession } from '@tidykv/session';
import { appUrl, startRedis, type RedisTestServer } from '@tidykv/testing';
import { SESSION_RUNTIME } from '../src/session.constants.js';
import type { SessionRuntime } from '../src/internal/session-runtime.js';
import { Agent, SECRET } from './support/session-app.js';

// asyncContext is an explicit option (as nestjs-cls asks for it): on by default, so that
// SessionAccessor works anywhere; apps that only use @Session() may turn it off for speed.

@Controller('plain')
class PlainController {
  @Post('login')
  login(@Session() s: HttpSession): { ok: true } {
    s.set('userId', 'u1');
    return { ok: true };
  }

  @Get('me')
  me(@Session() s: HttpSession): { userId: unknown } {
    return { userId: s.get('userId') };
  }
}

@Injectable()
class LoggedInGuard implements CanActivate {
  constructor(private readonly sessions: SessionAccessor) {}
  async canActivate(): Promise<boolean> {
    return (await this.sessions.load()).get('userId') !== undefined;
  }
}

@Controller('guarded')
class GuardedController {
  @Get()
  @UseGuards(LoggedInGuard)
  get(@Session() s: HttpSession): { userId: unknown } {
    return { userId: s.get('userId') };
  }
}

@Module({})
class AppModule {
  static register(url: string, withGuard: boolean, asyncContext?: boolean | 'auto'): DynamicModule {
    return {
      module: AppModule,
      imports: [SessionModule.forRoot({ connection: { url }, secrets: [SECRET], asyncContext })],
      controllers: withGuard ? [PlainController, GuardedController] : [PlainController],
    };
  }
}

describe('asyncContext', () => {
  let redis: RedisTestServer;
  const apps: INestApplication[] = [];
  const start = async (withGuard: boolean, asyncContext?: boolean | 'auto') => {
    const app = await NestFactory.create(AppModule.register(redis.url, withGuard, asyncContext), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return { app, url: appUrl(app) };
  };
  const active = (app: INestApplication): boolean => app.get<SessionRuntime>(SESSION_RUNTIME, { strict: false }).options.asyncContext;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await redis?.close();
  });

  it('is on by default, and @Session() works', async () => {
    const { app, url } = await start(false);
    expect(active(app)).toBe(true);
    const a = new Agent(url);
    await a.post('/plain/login');
    expect((await a.get('/plain/me')).body).toEqual({ userId: 'u1' });
  });

  it("accepts 'auto' for compatibility, as on", async () => {
    expect(active((await start(false, 'auto')).app)).toBe(true);
  });

  it("lets a guard that injects SessionAccessor see the request's session by default", async () => {
    const { app, url } = await start(true);
    expect(active(app)).toBe(true);
    const a = new Agent(url);
    expect((await a.get('/guarded')).status).toBe(403);
    await a.post('/plain/login');
    expect((await a.get('/guarded')).body).toEqual({ userId: 'u1' });
  });

  it('forRootAsync takes the options from a factory (validated at start-up too)', async () => {
    @Module({ imports: [SessionModule.forRootAsync({ useFactory: async () => ({ connection: { url: redis.url }, secrets: [SECRET] }) })], controllers: [PlainController] })
    class AsyncModule {}
    const app = await NestFactory.create(AsyncModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    const a = new Agent(appUrl(app));
    await a.post('/plain/login');
    expect((await a.get('/plain/me')).body).toEqual({ userId: 'u1' });

    @Module({ imports: [SessionModule.forRootAsync({ useFactory: () => ({ connection: { url: redis.url }, secrets: ['too-short'] }) })] })
    class BadModule {}
    await expect(NestFactory.create(BadModule, { logger: false, abortOnError: false })).rejects.toThrow(/SessionModule.secrets/);
  });

  it('false turns it off: the accessor then fails with a typed error, @Session() still works', async () => {
    const off = await start(true, false);
    expect(active(off.app)).toBe(false);
    const a = new Agent(off.url);
    await a.post('/plain/login');
    // With it off, the guard's accessor has no request context: a typed error, not a crash.
    expect((await a.get('/guarded')).status).toBe(500);
    expect((await a.get('/plain/me')).body).toEqual({ userId: 'u1' });
  });
});
