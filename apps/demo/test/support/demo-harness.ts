import type { INestApplication } from '@nestjs/common';
import { appUrl, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { createDemoApp } from '../../src/create-demo-app.js';
import { readDemoConfig, type DemoPlatform } from '../../src/demo.config.js';
import type { DemoMetrics } from '../../src/metrics/demo-metrics.js';
import { ConnectionFaultProxy } from './connection-fault.proxy.js';
import { DemoClient } from './demo-client.js';

/** The demo app on one platform, over a private redis-server the suite may stop and flush. */
export interface DemoHarness {
  readonly platform: DemoPlatform;
  readonly redis: RedisTestServer;
  readonly app: INestApplication;
  readonly base: string;
  /** A client of the test's own (not the app's) for inspecting Redis. */
  readonly probe: Redis;
  /** Between the app and Redis when started with `{ proxy: true }`. */
  readonly proxy: ConnectionFaultProxy | undefined;
  client(): DemoClient;
  close(): Promise<void>;
}

export const TEST_SECRET = 'e2e-secret-e2e-secret-e2e-secret-e2e';

/** Starts a redis-server and the demo on `platform`, configured from `env` as the real process would be. */
export async function startDemo(platform: DemoPlatform, env: Record<string, string> = {}, options: { proxy?: boolean; metrics?: DemoMetrics } = {}): Promise<DemoHarness> {
  const redis = await startRedis({ own: true });
  let app: INestApplication | undefined;
  let proxy: ConnectionFaultProxy | undefined;
  try {
    if (options.proxy) proxy = await ConnectionFaultProxy.start(redis);
    const config = readDemoConfig({ SESSION_SECRETS: TEST_SECRET, PLATFORM: platform, ...env });
    app = await createDemoApp({ ...config, redisUrl: proxy?.url ?? redis.url, metrics: options.metrics }, { platform: config.platform, logger: false });
    await app.listen(0, '127.0.0.1');
    const base = appUrl(app);
    const started = app;
    return {
      platform,
      redis,
      app: started,
      base,
      probe: redis.client(),
      proxy,
      client: () => new DemoClient(base),
      async close() {
        await started.close();
        await proxy?.close();
        await redis.close();
      },
    };
  } catch (err) {
    await app?.close();
    await proxy?.close();
    await redis.close();
    throw err;
  }
}
