// One tiny Nest auth app (login, GET /me, POST /me/visits), built twice: on @tidykv/session and on
// express-session + connect-redis 8 (the incumbent), so the bench compares like with like.
// Usage: node dist/bench-app.js <tidykv|tidykv-no-als|tidykv-near-cache|tidykv-principal|incumbent|bare> <redisUrl>; prints the port.
import 'reflect-metadata';
import { Socket } from 'node:net';
import { Body, Controller, Get, HttpCode, Module, Post, Req, UnauthorizedException, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { Session, SessionModule, type HttpSession } from '@tidykv/session';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';

const SECRET = 'bench-secret-bench-secret-bench-secret-00';

// Round trips, counted on the client side: every socket write this process makes to Redis. Neither
// side pipelines, so one write is one command sent (a script counts once, its inner calls not at all).
let redisWrites = 0;
const redisPort = Number(new URL(process.argv[3] ?? 'redis://127.0.0.1:6379').port);
// Taken off the prototype to be called again with each socket as `this`.
const socketWrite = Reflect.get(Socket.prototype, 'write') as (this: Socket, ...a: unknown[]) => boolean;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  if (this.remotePort === redisPort) redisWrites++;
  return socketWrite.apply(this, args);
};

/** The bench's own probe of the process: not part of any measured case. */
@Controller('__bench')
class StatsController {
  @Get('writes')
  writes(): { writes: number } {
    return { writes: redisWrites };
  }
}
const TTL_MS = 1_800_000;

@Controller()
class TidyController {
  @Post('auth/login')
  @HttpCode(201)
  login(@Session() s: HttpSession, @Body() body: { userId: string }): { userId: string } {
    s.regenerate();
    s.set('userId', body.userId);
    return { userId: body.userId };
  }

  @Get('me')
  me(@Session() s: HttpSession): { userId: string } {
    const userId = s.get<string>('userId');
    if (userId === undefined) throw new UnauthorizedException();
    return { userId };
  }

  @Post('me/visits')
  @HttpCode(200)
  visits(@Session() s: HttpSession): { visits: number } {
    if (s.get('userId') === undefined) throw new UnauthorizedException();
    const visits = (s.get<number>('visits') ?? 0) + 1;
    s.set('visits', visits);
    return { visits };
  }

  /** The atomic counter apps/demo uses: one HINCRBY inside one script, nothing lost under concurrency. */
  @Post('me/visits-atomic')
  @HttpCode(200)
  async visitsAtomic(@Session() s: HttpSession): Promise<{ visits: number }> {
    if (s.get('userId') === undefined) throw new UnauthorizedException();
    return { visits: await s.increment('visits') };
  }
}

type ExpressSession = { userId?: string; visits?: number; regenerate(cb: (err?: unknown) => void): void };
type Req = { session: ExpressSession };

@Controller()
class IncumbentController {
  @Post('auth/login')
  @HttpCode(201)
  async login(@Req() req: Req, @Body() body: { userId: string }): Promise<{ userId: string }> {
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(new Error('session regenerate failed', { cause: err })) : resolve())));
    req.session.userId = body.userId;
    return { userId: body.userId };
  }

  @Get('me')
  me(@Req() req: Req): { userId: string } {
    const userId = req.session.userId;
    if (userId === undefined) throw new UnauthorizedException();
    return { userId };
  }

  @Post('me/visits')
  @HttpCode(200)
  visits(@Req() req: Req): { visits: number } {
    if (req.session.userId === undefined) throw new UnauthorizedException();
    req.session.visits = (req.session.visits ?? 0) + 1;
    return { visits: req.session.visits };
  }
}

/** No session at all: the ceiling any session library is measured against. */
@Controller()
class BareController {
  @Get('me')
  me(): { userId: string } {
    return { userId: 'bench-user' };
  }

  @Post('auth/login')
  @HttpCode(201)
  login(@Body() body: { userId: string }, @Req() req: { res?: { setHeader(n: string, v: string): void } }): { userId: string } {
    req.res?.setHeader('set-cookie', 'sid=none');
    return { userId: body.userId };
  }
}

@Module({})
class BenchModule {
  static tidykv(redisUrl: string, variant: string): DynamicModule {
    return {
      module: BenchModule,
      imports: [
        SessionModule.forRoot({
          connection: { url: redisUrl },
          secrets: [SECRET],
          idleTimeoutMs: TTL_MS,
          principal: variant === 'tidykv-principal' ? 'userId' : undefined,
          asyncContext: variant === 'tidykv-no-als' ? false : undefined,
          nearCache: variant.startsWith('tidykv-near-cache'),
        }),
      ],
      controllers: [TidyController, StatsController],
    };
  }

  static bare(withInterceptor = false): DynamicModule {
    return {
      module: BenchModule,
      controllers: [BareController],
      providers: withInterceptor ? [{ provide: APP_INTERCEPTOR, useValue: { intercept: (_c: unknown, next: { handle(): unknown }) => next.handle() } }] : [],
    };
  }

  static incumbent(): DynamicModule {
    return { module: BenchModule, controllers: [IncumbentController, StatsController] };
  }
}

/** The port the app listens on (Nest types its HTTP server as `any`). */
function portOf(app: INestApplication): number {
  return ((app.getHttpServer() as Server).address() as AddressInfo).port;
}

function exitOnSignal(close: () => Promise<void>): void {
  const stop = (): void => void close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(): Promise<void> {
  const [kind, redisUrl] = process.argv.slice(2);
  if (kind === 'bare' || kind === 'bare-interceptor') {
    const app = await NestFactory.create(BenchModule.bare(kind === 'bare-interceptor'), { logger: false });
    await app.listen(0, '127.0.0.1');
    exitOnSignal(() => app.close());
    process.stdout.write(`${portOf(app)}\n`);
  } else if (kind === 'incumbent') {
    const app = await NestFactory.create(BenchModule.incumbent(), { logger: false });
    const client = new Redis(redisUrl);
    app.use(
      session({
        store: new RedisStore({ client, prefix: 'sess:' }),
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: TTL_MS, httpOnly: true, sameSite: 'lax' },
      }),
    );
    await app.listen(0, '127.0.0.1');
    exitOnSignal(async () => {
      await app.close();
      await client.quit();
    });
    process.stdout.write(`${portOf(app)}\n`);
  } else {
    const app = await NestFactory.create(BenchModule.tidykv(redisUrl, kind), { logger: false });
    await app.listen(0, '127.0.0.1');
    // The previous near-cache design, for comparison only: broadcast tracking of every session key,
    // redirected to a subscriber of this instance, so that every session write is pushed here.
    const extra: Redis[] = [];
    if (kind === 'tidykv-near-cache-bcast') {
      const sub = new Redis(redisUrl, { protocol: 2 });
      const tracker = new Redis(redisUrl);
      extra.push(sub, tracker);
      const id = (await sub.call('CLIENT', 'ID')) as number;
      await sub.subscribe('__redis__:invalidate');
      await tracker.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', 'PREFIX', 'tkv:s:');
    }
    exitOnSignal(async () => {
      await app.close();
      for (const c of extra) c.disconnect();
    });
    process.stdout.write(`${portOf(app)}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
