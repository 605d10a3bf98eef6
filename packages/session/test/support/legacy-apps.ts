import { Body, Controller, Get, HttpCode, Module, Param, Post, Req, UnauthorizedException, type DynamicModule, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HttpSession, Session, SessionAccessor, SessionModule, SessionService, type SessionModuleOptions } from '@tidykv/session';
import { HttpAgent, type HttpReply } from '@tidykv/testing';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import type { Cluster, Redis } from 'ioredis';

/** express-session's secret on the old app, and `legacy.connectRedis.secrets` on the tidykv one. */
export const LEGACY_SECRET = 'bench-secret-bench-secret-bench-secret-00';
/** The tidykv app's own signing secret. */
export const TIDY_SECRET = 'tidy-secret-tidy-secret-tidy-secret-0001';

type ExpressSession = { userId?: string; visits?: number; regenerate(cb: (err?: unknown) => void): void; destroy(cb: (err?: unknown) => void): void };
type LegacyReq = { session: ExpressSession };

/** The old app: the bench's express-session + connect-redis app (login, GET /me, POST /me/visits), plus logout. */
@Controller()
class LegacyController {
  @Post('auth/login')
  @HttpCode(200)
  async login(@Req() req: LegacyReq, @Body() body: { userId: string }): Promise<{ userId: string }> {
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err instanceof Error ? err : new Error('express-session failed', { cause: err })) : resolve())));
    req.session.userId = body.userId;
    return { userId: body.userId };
  }

  @Get('me')
  me(@Req() req: LegacyReq): { userId: string; visits?: number } {
    const userId = req.session.userId;
    if (userId === undefined) throw new UnauthorizedException();
    return { userId, visits: req.session.visits };
  }

  @Post('me/visits')
  @HttpCode(200)
  visits(@Req() req: LegacyReq): { visits: number } {
    if (req.session.userId === undefined) throw new UnauthorizedException();
    req.session.visits = (req.session.visits ?? 0) + 1;
    return { visits: req.session.visits };
  }

  @Post('auth/logout')
  @HttpCode(204)
  async logout(@Req() req: LegacyReq): Promise<void> {
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err instanceof Error ? err : new Error('express-session failed', { cause: err })) : resolve())));
  }
}

@Module({ controllers: [LegacyController] })
class LegacyModule {}

/** A running app and its base URL. */
export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
  close(): Promise<void>;
}

/** The old app, and the connect-redis store it saves into. */
export interface LegacyApp extends RunningApp {
  readonly store: RedisStore;
}

/** Starts the express-session + connect-redis app the way the bench does (`resave: false`, `saveUninitialized: false`). */
export async function startLegacyApp(client: Redis | Cluster, options: { maxAgeMs?: number; prefix?: string } = {}): Promise<LegacyApp> {
  const app = await NestFactory.create(LegacyModule, { logger: captured, abortOnError: false });
  const store = new RedisStore({ client, prefix: options.prefix ?? 'sess:' });
  app.use(
    session({
      store,
      secret: LEGACY_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: options.maxAgeMs ?? 1_800_000, httpOnly: true, sameSite: 'lax' },
    }),
  );
  await app.listen(0, '127.0.0.1');
  return { ...(await urlOf(app)), store };
}

/** The same app on tidykv. */
@Controller()
class TidyController {
  constructor(
    private readonly accessor: SessionAccessor,
    private readonly sessions: SessionService,
  ) {}

  @Post('auth/login')
  @HttpCode(200)
  login(@Session() s: HttpSession, @Body() body: { userId: string }): { userId: string } {
    s.regenerate();
    s.set('userId', body.userId);
    return { userId: body.userId };
  }

  @Get('me')
  me(@Session() s: HttpSession): { userId: string; visits?: number } {
    const userId = s.get<string>('userId');
    if (userId === undefined) throw new UnauthorizedException();
    return { userId, visits: s.get<number>('visits') };
  }

  @Get('me/meta')
  meta(@Session() s: HttpSession): { id?: string; createdAt?: number; keys: string[] } {
    return { id: s.id, createdAt: s.createdAt?.getTime(), keys: s.keys() };
  }

  @Post('me/visits')
  @HttpCode(200)
  visits(@Session() s: HttpSession): { visits: number } {
    if (s.get('userId') === undefined) throw new UnauthorizedException();
    const visits = (s.get<number>('visits') ?? 0) + 1;
    s.set('visits', visits);
    return { visits };
  }

  @Post('auth/logout')
  @HttpCode(204)
  async logout(@Session() s: HttpSession): Promise<void> {
    await s.invalidate();
  }

  /** Logout without reading the session first (a guard or service holding only the accessor). */
  @Post('auth/logout-unread')
  @HttpCode(204)
  async logoutUnread(): Promise<void> {
    await this.accessor.current?.invalidate();
  }

  @Get('none')
  none(): { ok: true } {
    return { ok: true };
  }

  @Get('principal/:id')
  list(@Param('id') id: string): Promise<unknown> {
    return this.sessions.listByPrincipal(id);
  }

  @Post('principal/:id/logout-all')
  @HttpCode(200)
  async logoutAll(@Param('id') id: string): Promise<{ n: number }> {
    return { n: await this.sessions.invalidateByPrincipal(id) };
  }
}

@Module({})
class TidyModule {
  static register(options: SessionModuleOptions): DynamicModule {
    return { module: TidyModule, imports: [SessionModule.forRoot(options)], controllers: [TidyController] };
  }
}

/**
 * Collects what Nest's Logger is asked to print (tidykv logs through it). Nest's Logger is one per
 * process (each NestFactory.create replaces it), so every app of a suite shares {@link captured}.
 */
export class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** What every app of this process logged. */
export const captured = new CapturingLogger();

/** Starts the tidykv app with `legacy` pointing at the old app's sessions. */
export async function startTidyApp(options: Partial<SessionModuleOptions> & Pick<SessionModuleOptions, 'connection'>): Promise<RunningApp> {
  const app = await NestFactory.create(
    TidyModule.register({ secrets: [TIDY_SECRET], legacy: { connectRedis: { prefix: 'sess:', cookieName: 'connect.sid', secrets: [LEGACY_SECRET] } }, ...options }),
    { logger: captured, abortOnError: false },
  );
  await app.listen(0, '127.0.0.1');
  return urlOf(app);
}

async function urlOf(app: INestApplication): Promise<RunningApp> {
  const server = app.getHttpServer() as { address(): { port: number } };
  return { app, url: `http://127.0.0.1:${server.address().port}`, close: () => app.close() };
}

/** One response as a test sees it. */
export interface Reply<T = unknown> extends HttpReply<T> {
  /** Cookies the response set, by name (raw values as sent; '' when cleared). */
  readonly set: Record<string, string>;
}

/** A Map of a browser's cookies whose writes go to the browser's jar. */
class JarView extends Map<string, string> {
  constructor(private readonly browser: HttpAgent) {
    super(browser.cookies);
  }

  override set(name: string, value: string): this {
    // Map's constructor calls set for each entry before `browser` is assigned: those only fill the snapshot.
    if (this.browser) this.browser.setCookieValue(name, value);
    return super.set(name, value);
  }

  override delete(name: string): boolean {
    this.browser.setCookieValue(name, undefined);
    return super.delete(name);
  }
}

/**
 * A browser with a cookie jar holding several cookies (the legacy one and tidykv's), sent back as
 * received: libs/testing's {@link HttpAgent}, whose POST always carries a JSON body (`{}` when
 * none is given), with each reply's Set-Cookie also given by name.
 */
export class Browser extends HttpAgent {
  /**
   * The cookies this browser holds, by name (raw values as received): a snapshot of the jar,
   * whose `set` and `delete` write through to it (a test plants or drops a cookie by hand).
   */
  get jar(): Map<string, string> {
    return new JarView(this);
  }

  override async request<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const reply = await super.request<T>(method, path, body);
    const set: Record<string, string> = {};
    for (const c of reply.setCookie) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      set[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { ...reply, set };
  }

  override get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  override post<T = unknown>(path: string, body: unknown = {}): Promise<Reply<T>> {
    return this.request<T>('POST', path, body);
  }

  /** Another browser (or tab) holding only the cookies named, by value (their Expires and Path are not copied). */
  only(base: string, ...names: string[]): Browser {
    const b = new Browser(base);
    for (const n of names) {
      const v = this.jar.get(n);
      if (v !== undefined) b.setCookieValue(n, v);
    }
    return b;
  }

  /** The express-session sid inside this browser's legacy cookie. */
  get legacySid(): string {
    const raw = decodeURIComponent(this.jar.get('connect.sid') ?? '');
    return raw.slice(2, raw.lastIndexOf('.'));
  }
}
