import { Body, Catch, Controller, Get, HttpCode, HttpException, Inject, Module, Param, Post, Query, type ArgumentsHost, type DynamicModule, type ExceptionFilter, type LoggerService } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isRedisFailure, TidyKvCodecError, TidyKvError, type RedisConnection, type RunOptions } from '@tidykv/core';
import { HttpSession, Session, SessionModule, SessionService, TidyKvSessionError, type SessionModuleOptions } from '@tidykv/session';
import type { RedisSessionRepository } from '../../src/internal/redis-session.repository.js';
import type { SessionRuntime } from '../../src/internal/session-runtime.js';
import { SESSION_RUNTIME } from '../../src/session.constants.js';
import { SECRET } from './session-app.js';

// The app the fault suites drive: routes that log in, re-log in, write, increment and log out the
// way an app would, and an exception filter that maps tidykv's typed failures to 503 with their
// stable code and records every error it sees, so that a suite can count untyped ones.

/** An error the app's filter answered, as the suites count them. */
export interface SeenError {
  readonly status: number;
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
}

/** Waits the handler of `POST /f/incr-gated` holds between loading the session and incrementing. */
export class Gate {
  private opened!: () => void;
  private reached!: () => void;
  /** Resolves once a handler is waiting at the gate. */
  readonly waiting: Promise<void> = new Promise((r) => (this.reached = r));
  private readonly open: Promise<void> = new Promise((r) => (this.opened = r));

  /** @internal The handler arrives. */
  arrive(): Promise<void> {
    this.reached();
    return this.open;
  }

  /** Lets the waiting handler go on. */
  release(): void {
    this.opened();
  }
}

/** Per-app state the controller and filter share with the test (one app per module instance). */
export class FaultAppState {
  readonly errors: SeenError[] = [];
  gate: Gate | undefined;
}

const STATE = Symbol('FaultAppState');

/** Attributes of the session as plain own properties (a `__proto__` attribute stays data, never a prototype). */
function attributesOf(s: HttpSession): Record<string, unknown> {
  return Object.fromEntries(s.keys().map((k) => [k, s.get(k)]));
}

@Controller('f')
class FaultController {
  constructor(
    private readonly sessions: SessionService,
    @Inject(STATE) private readonly state: FaultAppState,
  ) {}

  @Get('none')
  none(): { ok: true } {
    return { ok: true };
  }

  @Get('read')
  read(@Session() s: HttpSession): { id: string | undefined; attributes: Record<string, unknown> } {
    return { id: s.id, attributes: attributesOf(s) };
  }

  /** Login: a new id (against fixation) carrying the principal; a re-login when a session exists. */
  @Post('login')
  @HttpCode(200)
  login(@Session() s: HttpSession, @Body() body: { userId: string }): { ok: true } {
    s.regenerate();
    s.set('userId', body.userId);
    return { ok: true };
  }

  /** A login that saves inside the handler, answering the outcome and the new id. */
  @Post('login-save')
  @HttpCode(200)
  async loginSave(@Session() s: HttpSession, @Body() body: { userId: string }): Promise<{ status: string; id: string | undefined }> {
    s.regenerate();
    s.set('userId', body.userId);
    const o = await s.save();
    return { status: o.status, id: s.id };
  }

  /** Writes every body entry as an attribute; saved by the middleware when the response starts. */
  @Post('write')
  @HttpCode(200)
  write(@Session() s: HttpSession, @Body() body: Record<string, unknown>): { ok: true } {
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    return { ok: true };
  }

  /** Writes every body entry and saves inside the handler, answering the save's outcome and the id. */
  @Post('write-save')
  @HttpCode(200)
  async writeSave(@Session() s: HttpSession, @Body() body: Record<string, unknown>): Promise<{ status: string; id: string | undefined }> {
    for (const [k, v] of Object.entries(body)) s.set(k, v);
    const o = await s.save();
    return { status: o.status, id: s.id };
  }

  @Post('delete/:name')
  @HttpCode(200)
  async del(@Session() s: HttpSession, @Param('name') name: string): Promise<{ status: string; id: string | undefined }> {
    s.delete(name);
    const o = await s.save();
    return { status: o.status, id: s.id };
  }

  @Post('incr/:name')
  @HttpCode(200)
  async incr(@Session() s: HttpSession, @Param('name') name: string, @Query('by') by?: string): Promise<{ n: number; id: string | undefined }> {
    const n = await s.increment(name, by === undefined ? 1 : Number(by));
    return { n, id: s.id };
  }

  /** Like `incr`, but waits at the test's {@link Gate} between loading the session and incrementing. */
  @Post('incr-gated/:name')
  @HttpCode(200)
  async incrGated(@Session() s: HttpSession, @Param('name') name: string): Promise<{ n: number }> {
    await this.state.gate?.arrive();
    return { n: await s.increment(name) };
  }

  @Post('regenerate')
  @HttpCode(200)
  async regenerate(@Session() s: HttpSession): Promise<{ status: string; id: string | undefined }> {
    s.regenerate();
    const o = await s.save();
    return { status: o.status, id: s.id };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Session() s: HttpSession): Promise<void> {
    await s.invalidate();
  }

  @Get('principal/:id')
  principal(@Param('id') id: string): Promise<unknown> {
    return this.sessions.listByPrincipal(id);
  }
}

/**
 * What an app does with errors: tidykv's Redis failures answer 503 with their stable code (the
 * contract under test), a session gone meanwhile 409, bad input 400, anything else 500, and every
 * error is recorded with its class name so that a suite can prove none was untyped.
 */
@Catch()
class RecordingFilter implements ExceptionFilter {
  constructor(private readonly seen: FaultAppState) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(n: number): { json(b: unknown): void } }>();
    let status = 500;
    let body: Record<string, unknown>;
    if (err instanceof HttpException) {
      status = err.getStatus();
      const r = err.getResponse();
      body = typeof r === 'object' && r !== null ? { ...(r as Record<string, unknown>) } : { message: String(r) };
    } else if (isRedisFailure(err)) {
      status = 503;
      body = { code: err.code, name: err.name };
    } else if (err instanceof TidyKvSessionError) {
      status = err.code === 'TIDYKV_SESSION_GONE' || err.code === 'TIDYKV_SESSION_STATE' ? 409 : 400;
      body = { code: err.code, name: err.name };
    } else if (err instanceof TidyKvCodecError) {
      status = 400;
      body = { code: err.code, name: err.name };
    } else if (err instanceof TidyKvError) {
      body = { code: err.code, name: err.name };
    } else {
      body = { name: err instanceof Error ? err.name : typeof err, message: err instanceof Error ? err.message : String(err) };
    }
    this.seen.errors.push({
      status,
      name: err instanceof Error ? err.constructor.name : typeof err,
      code: (err as { code?: string } | undefined)?.code,
      message: err instanceof Error ? err.message : String(err),
    });
    res.status(status).json(body);
  }
}

@Module({})
class FaultAppModule {
  static register(options: SessionModuleOptions, seen: FaultAppState): DynamicModule {
    return {
      module: FaultAppModule,
      imports: [SessionModule.forRoot(options)],
      controllers: [FaultController],
      providers: [
        { provide: STATE, useValue: seen },
        { provide: APP_FILTER, useValue: new RecordingFilter(seen) },
      ],
    };
  }
}

/** A running fault app. */
export interface FaultApp {
  readonly url: string;
  readonly state: FaultAppState;
  readonly runtime: SessionRuntime;
  /** The connection session commands go over. */
  readonly connection: RedisConnection;
  close(): Promise<void>;
}

/** Options of {@link startFaultApp} beyond the session module's. */
export interface FaultAppExtras {
  /** Nest logger (to capture the outage log). Default: none (silent). */
  logger?: LoggerService;
  /** JSON body limit. Default: 100kb (Express's). */
  bodyLimit?: string;
}

/** Starts the fault app on Express on a free loopback port. */
export async function startFaultApp(options: Partial<SessionModuleOptions> & Pick<SessionModuleOptions, 'connection'>, extras: FaultAppExtras = {}): Promise<FaultApp> {
  const seen = new FaultAppState();
  const app = await NestFactory.create<NestExpressApplication>(FaultAppModule.register({ secrets: [SECRET], ...options }, seen), {
    logger: extras.logger ?? false,
    abortOnError: false,
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: extras.bodyLimit ?? '100kb' });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as { address(): { port: number } };
  const runtime = app.get<SessionRuntime>(SESSION_RUNTIME);
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state: seen,
    runtime,
    connection: (runtime.repository as RedisSessionRepository).connection,
    close: () => app.close(),
  };
}

/** One Redis operation as {@link probeOperations} saw it. */
export interface OperationRecord {
  readonly operation: string;
  readonly write: boolean;
  /** ms from the moment tidykv issued it until it settled. */
  readonly ms: number;
  /** 'ok', the error's code (TIDYKV_UNAVAILABLE, TIDYKV_OUTCOME_UNKNOWN...), or the class name of an untyped error. */
  readonly outcome: string;
}

/**
 * Records every operation tidykv runs on `connection` (its name, how long it took, how it ended):
 * the deadline is per operation, so this is where "fails within commandTimeoutMs" is measured.
 * Instrumentation only: the operation itself runs unchanged.
 */
export function probeOperations(connection: RedisConnection): {
  readonly records: OperationRecord[];
  /** Names of the operations issued so far, settled or not. */
  readonly started: string[];
  failures(): OperationRecord[];
  worstFailureMs(): number;
} {
  const records: OperationRecord[] = [];
  const issued: string[] = [];
  const original = connection.run.bind(connection);
  (connection as { run: RedisConnection['run'] }).run = <T>(operation: string, fn: Parameters<RedisConnection['run']>[1], options: RunOptions = {}): Promise<T> => {
    issued.push(operation);
    const started = performance.now();
    const done = (outcome: string): void => void records.push({ operation, write: options.write === true, ms: performance.now() - started, outcome });
    return (original(operation, fn, options) as Promise<T>).then(
      (v) => {
        done('ok');
        return v;
      },
      (err: unknown) => {
        done(err instanceof TidyKvError ? err.code : err instanceof Error ? err.constructor.name : typeof err);
        throw err;
      },
    );
  };
  const failures = (): OperationRecord[] => records.filter((r) => r.outcome === 'TIDYKV_UNAVAILABLE' || r.outcome === 'TIDYKV_OUTCOME_UNKNOWN');
  return { records, started: issued, failures, worstFailureMs: () => Math.max(0, ...failures().map((r) => r.ms)) };
}

/**
 * Watches how late this process's event loop runs timers while a suite injects faults, so that a
 * time-to-fail above the deadline can be told apart from a starved CPU (the deadline is a timer).
 */
export function watchEventLoop(): { stop(): { maxDelayMs: number; p99DelayMs: number } } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    stop() {
      h.disable();
      return { maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6 };
    },
  };
}

/** A Nest LoggerService that keeps every line. */
export class CapturingLogger implements LoggerService {
  readonly lines: { level: string; context: string | undefined; message: string }[] = [];
  private add(level: string, message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, context, message: String(message) });
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
}

/**
 * Prints one line a reader can quote: `[faults] <name>: key=value, ...`. The suites' closing
 * notes (operations, faults, divergences, worst time-to-fail) come from these lines.
 */
export function reportLine(name: string, counts: Record<string, number | string>): void {
  const body = Object.entries(counts)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(0) : v}`)
    .join(', ');
  // stdout, not console.log: Jest would wrap it in a stack-annotated block per line.
  process.stdout.write(`[faults] ${name}: ${body}\n`);
}
