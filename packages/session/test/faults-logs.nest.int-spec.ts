import { beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, RedisProcess } from '@tidykv/testing';
import { CapturingLogger, reportLine, startFaultApp } from './support/fault-app.js';
import { Agent } from './support/session-app.js';

// What an operator's log shows for an outage (Redis killed with kill -9, requests failing, Redis
// back): one line when it starts and one when it ends, through Nest's Logger, and nothing from
// ioredis on the console. Every connection tidykv opens is in play: the module's own, and the
// near-cache's tracked connection and invalidation subscriber.
describe('@tidykv/session logs during an outage', () => {
  const logger = new CapturingLogger();
  const consoleLines: string[] = [];
  let failedDuringOutage = 0;
  let restoredLogLagMs = 0;
  let sessionLines: { level: string; message: string }[] = [];

  beforeAll(async () => {
    const redis = await RedisProcess.start();
    // Put back exactly as they were; called with apply on their owners.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = { error: console.error, warn: console.warn, log: console.log, stderr: process.stderr.write };
    const keep =
      (fn: (...a: unknown[]) => unknown) =>
      (...args: unknown[]): unknown => {
        consoleLines.push(args.map(String).join(' '));
        return fn.apply(console, args);
      };
    console.error = keep(original.error);
    console.warn = keep(original.warn);
    console.log = keep(original.log);
    process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
      consoleLines.push(String(chunk));
      return (original.stderr as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    });
    try {
      const app = await startFaultApp({ connection: { url: redis.url, commandTimeoutMs: 300 }, nearCache: true }, { logger });
      try {
        const a = new Agent(app.url);
        expect((await a.post('/f/write', { n: 1 })).status).toBe(200);
        await redis.kill();
        // Reads of an existing session, new sessions (a failed end-of-request save) and increments.
        for (let round = 0; round < 4; round++) {
          const rs = await Promise.all([a.get('/f/read'), new Agent(app.url).post('/f/write', { x: 1 }), a.post('/f/incr/n')]);
          failedDuringOutage += rs.filter((r) => r.status === 503).length;
        }
        await redis.start();
        await eventually(async () => (await new Agent(app.url).post('/f/write', { back: 1 })).status === 200, 15_000, 'the app to write again');
        // With the near-cache on, session commands use its tracked connection, while the outage is
        // reported by the module's main connection, which reconnects on its own backoff.
        const writingAgain = performance.now();
        await eventually(() => logger.lines.some((l) => /connection restored/.test(l.message)), 15_000, 'the outage to be logged as over');
        restoredLogLagMs = performance.now() - writingAgain;
        expect((await a.get('/f/none')).status).toBe(200);
      } finally {
        await app.close();
      }
    } finally {
      console.error = original.error;
      console.warn = original.warn;
      console.log = original.log;
      process.stderr.write = original.stderr;
      await redis.close();
    }
    sessionLines = logger.lines.filter((l) => l.context === 'SessionModule').map((l) => ({ level: l.level, message: l.message }));
    reportLine('outage logs', {
      requestsFailedDuringOutage: failedDuringOutage,
      sessionModuleLines: sessionLines.length,
      restoredLoggedAfterWritesResumedMs: restoredLogLagMs,
      ioredisUnhandled: consoleLines.filter((l) => l.includes('Unhandled error event')).length,
    });
  }, 60_000);

  it('the outage made requests fail', () => {
    expect(failedDuringOutage).toBe(12);
  });

  it("is logged once when it starts and once when it ends, through Nest's Logger", () => {
    expect(sessionLines.filter((l) => /connection lost/.test(l.message)).map((l) => l.level)).toEqual(['warn']);
    expect(sessionLines.filter((l) => /connection restored/.test(l.message)).map((l) => l.level)).toEqual(['log']);
  });

  it('logs nothing else per failed request or command while it lasts', () => {
    expect(sessionLines.filter((l) => !/connection (lost|restored)/.test(l.message))).toEqual([]);
  });

  it('prints no "[ioredis] Unhandled error event" (nor any other ioredis line) on the console or stderr', () => {
    expect(consoleLines.filter((l) => /ioredis|Unhandled error/.test(l))).toEqual([]);
  });
});
