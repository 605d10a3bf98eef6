import { Body, Catch, Controller, Get, HttpCode, Module, Param, Post, Query, Res, UnauthorizedException, type ArgumentsHost, type DynamicModule, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { RedisUnavailableError, TidyKvError } from '@tidykv/core';
import { NestFactory } from '@nestjs/core';
import { HttpSession, Session, SessionAccessor, SessionModule, SessionService, type SessionModuleOptions } from '@tidykv/session';
import { HttpAgent, type HttpAgentOptions, type HttpReply } from '@tidykv/testing';

export const SECRET = 'test-secret-test-secret-test-secret-0001';

/** Routes that exercise the session the way an app would. */
/**
 * How many `POST /s/set-then-wait` handlers have started in this process, so a test can wait until
 * its requests are really in flight (on a loaded machine a fixed delay may close the app before
 * they arrive, and the client then sees a refused or reset connection instead of the behaviour).
 */
export const setThenWaitStarted = { count: 0 };

@Controller('s')
class TestController {
  constructor(
    private readonly accessor: SessionAccessor,
    private readonly sessions: SessionService,
  ) {}

  @Get('none')
  none(): { ok: true } {
    return { ok: true };
  }

  @Get('read')
  read(@Session() s: HttpSession): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of s.keys()) out[k] = s.get(k);
    return out;
  }

  @Get('read-twice')
  async readTwice(): Promise<{ a: unknown; b: unknown }> {
    // Two loads in one request: the second must reuse the first.
    const a = (await this.accessor.load()).get('n');
    const b = (await this.accessor.load()).get('n');
    return { a, b };
  }

  @Get('meta')
  meta(@Session() s: HttpSession): { id?: string; createdAt?: number; lastAccessedAt?: number } {
    return { id: s.id, createdAt: s.createdAt?.getTime(), lastAccessedAt: s.lastAccessedAt?.getTime() };
  }

  @Post('set')
  @HttpCode(200)
  set(@Session() s: HttpSession, @Body() body: Record<string, unknown>): { id?: string } {
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    return { id: s.id };
  }

  @Post('set-and-save')
  @HttpCode(200)
  async setAndSave(@Session() s: HttpSession, @Body() body: Record<string, unknown>): Promise<{ status: string }> {
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    return { status: (await s.save()).status };
  }

  @Post('set-then-fail')
  setThenFail(@Session() s: HttpSession, @Body() body: Record<string, unknown>): never {
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    throw new Error('handler failed after set');
  }

  @Post('slow-set')
  @HttpCode(200)
  async slowSet(@Session() s: HttpSession, @Query('ms') ms: string, @Body() body: Record<string, unknown>): Promise<{ status: string }> {
    await new Promise((r) => setTimeout(r, Number(ms)));
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    return { status: (await s.save()).status };
  }

  @Post('set-then-wait')
  @HttpCode(200)
  async setThenWait(@Session() s: HttpSession, @Query('ms') ms: string, @Body() body: Record<string, unknown>): Promise<{ ok: true }> {
    setThenWaitStarted.count++;
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    await new Promise((r) => setTimeout(r, Number(ms)));
    return { ok: true };
  }

  @Post('reject')
  reject(@Session() s: HttpSession): never {
    // A 4xx answer still keeps its writes (e.g. counting failed logins).
    s.set('attempts', (s.get<number>('attempts') ?? 0) + 1);
    throw new UnauthorizedException();
  }

  @Post('raw-response')
  rawResponse(@Session() s: HttpSession, @Res() res: { raw?: unknown; code?: (n: number) => { send(b: string): void }; status?: (n: number) => { send(b: string): void } }): void {
    // The handler answers by itself (no return value): the save must still come first.
    s.set('raw', true);
    if (typeof res.code === 'function') res.code(200).send('raw');
    else res.status?.(200).send('raw');
  }

  @Post('app-cookie')
  @HttpCode(200)
  appCookie(@Session() s: HttpSession, @Res({ passthrough: true }) res: { raw?: unknown; header?: (n: string, v: string) => void; setHeader?: (n: string, v: string) => void }): { ok: true } {
    // The app sets its own cookie too; both must reach the client.
    if (res.raw !== undefined && typeof res.header === 'function') res.header('set-cookie', 'app=1; Path=/');
    else res.setHeader?.('set-cookie', 'app=1; Path=/');
    s.set('n', 1);
    return { ok: true };
  }

  @Post('push/:name')
  @HttpCode(200)
  push(@Session() s: HttpSession, @Param('name') name: string, @Body() body: { item: unknown }): unknown {
    // In-place mutation, the case save mode on-get exists for.
    const list = s.get<unknown[]>(name);
    if (list) list.push(body.item);
    return list;
  }

  @Post('incr/:name')
  @HttpCode(200)
  incr(@Session() s: HttpSession, @Param('name') name: string): { n: number } {
    const n = (s.get<number>(name) ?? 0) + 1;
    s.set(name, n);
    return { n };
  }

  @Post('increment/:name')
  @HttpCode(200)
  async increment(@Session() s: HttpSession, @Param('name') name: string): Promise<{ n: number }> {
    return { n: await s.increment(name) };
  }

  @Post('login-and-save')
  @HttpCode(200)
  async loginAndSave(@Session() s: HttpSession, @Body() body: { userId: string }): Promise<{ status: string; id?: string }> {
    s.regenerate();
    s.set('userId', body.userId);
    const { status } = await s.save();
    return { status, id: s.id };
  }

  @Post('cors-write')
  @HttpCode(200)
  corsWrite(@Session() s: HttpSession, @Res({ passthrough: true }) res: { raw?: unknown; header?: (n: string, v: string) => void; setHeader?: (n: string, v: string) => void }): { ok: true } {
    // An app's CORS header, set before the session save fails: the 503 must keep it.
    if (res.raw !== undefined && typeof res.header === 'function') res.header('access-control-allow-origin', 'https://app.example');
    else res.setHeader?.('access-control-allow-origin', 'https://app.example');
    s.set('n', 1);
    return { ok: true };
  }

  @Post('delete/:name')
  @HttpCode(200)
  del(@Session() s: HttpSession, @Param('name') name: string): { ok: true } {
    s.delete(name);
    return { ok: true };
  }

  @Post('set-fn')
  @HttpCode(200)
  setFn(@Session() s: HttpSession): { ok: true } {
    s.set('bad', () => 1);
    return { ok: true };
  }

  @Post('idle/:ms')
  @HttpCode(200)
  idle(@Session() s: HttpSession, @Param('ms') ms: string): { ok: true } {
    s.setIdleTimeout(Number(ms));
    return { ok: true };
  }

  @Post('login')
  @HttpCode(200)
  login(@Session() s: HttpSession, @Body() body: { userId: string }): { ok: true } {
    s.regenerate();
    s.set('userId', body.userId);
    return { ok: true };
  }

  @Post('regenerate')
  @HttpCode(200)
  regenerate(@Session() s: HttpSession): { ok: true } {
    s.regenerate();
    return { ok: true };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Session() s: HttpSession): Promise<void> {
    await s.invalidate();
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

/** What an app does with tidykv errors: 503 for an outage, the stable code in the body. */
@Catch(TidyKvError)
class TidyKvErrorFilter implements ExceptionFilter {
  catch(err: TidyKvError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status?: (n: number) => { json?: (b: unknown) => void; send?: (b: unknown) => void }; code?: (n: number) => { send: (b: unknown) => void } }>();
    const status = err instanceof RedisUnavailableError ? 503 : 500;
    const body = { code: err.code, name: err.name };
    if (typeof res.code === 'function') res.code(status).send(body);
    else res.status?.(status).json?.(body);
  }
}

@Module({})
class TestAppModule {
  static register(options: SessionModuleOptions): DynamicModule {
    return {
      module: TestAppModule,
      imports: [SessionModule.forRoot(options)],
      controllers: [TestController],
      providers: [{ provide: APP_FILTER, useClass: TidyKvErrorFilter }],
    };
  }
}

/** A running test app and a base URL. */
export interface TestApp {
  readonly app: INestApplication;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the test app on Express (the default) on a free loopback port. */
export async function startExpressApp(options: Partial<SessionModuleOptions> & Pick<SessionModuleOptions, 'connection'>): Promise<TestApp> {
  const app = await NestFactory.create(TestAppModule.register({ secrets: [SECRET], ...options }), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return wrap(app);
}

/** Wraps an app created elsewhere (e.g. on Fastify). */
export async function wrap(app: INestApplication): Promise<TestApp> {
  const server = app.getHttpServer() as { address(): { port: number } };
  const url = `http://127.0.0.1:${server.address().port}`;
  return { app, url, close: () => app.close() };
}

export { TestAppModule };

/**
 * A browser-like client with one cookie jar (or one header, for header transport): libs/testing's
 * {@link HttpAgent} with this suite's habits, a cookie named `sid` unless told, and a POST
 * that always carries a JSON body (`{}` when none is given).
 */
export class Agent extends HttpAgent {
  constructor(base: string, cookieName: string | HttpAgentOptions = 'sid', headerName?: string) {
    super(base, typeof cookieName === 'string' ? { cookieName, headerName } : cookieName);
  }

  override post<T = unknown>(path: string, body?: unknown): Promise<HttpReply<T>> {
    return super.post<T>(path, body ?? {});
  }
}
