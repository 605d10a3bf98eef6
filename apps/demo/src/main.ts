import 'reflect-metadata';
import { createDemoApp } from './create-demo-app.js';
import { readDemoConfig } from './demo.config.js';
import { DemoMetrics } from './metrics/demo-metrics.js';
import { startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis.js';

async function bootstrap(): Promise<void> {
  const config = readDemoConfig();
  // Before anything records: tidykv's instruments bind to the provider installed at their first use.
  const metrics = DemoMetrics.install();
  let redisUrl = config.redisUrl;
  let throwaway: ThrowawayRedis | undefined;
  if (!redisUrl) {
    throwaway = await startThrowawayRedis();
    redisUrl = throwaway.url;
    console.log(`REDIS_URL is not set: started a throwaway redis-server at ${redisUrl} (stopped on exit).`);
  }
  try {
    const app = await createDemoApp({ ...config, redisUrl, metrics }, { platform: config.platform });
    // No enableShutdownHooks(): Nest would re-raise the signal after closing the app and kill the
    // process before the throwaway Redis is stopped. The handlers below close both, in order.
    await app.listen(config.port, config.host);
    console.log(`tidykv demo (${config.platform}) listening on http://${config.host}:${config.port}`);
    const shutdown = async (): Promise<void> => {
      await app.close();
      await metrics.shutdown();
      await throwaway?.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown());
    process.once('SIGTERM', () => void shutdown());
  } catch (err) {
    await throwaway?.stop();
    throw err;
  }
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
