import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { readDemoConfig } from './demo.config.js';
import { startThrowawayRedis } from './throwaway-redis.js';

async function bootstrap(): Promise<void> {
  const config = readDemoConfig();
  let redisUrl = config.redisUrl;
  let stopRedis: (() => Promise<void>) | undefined;
  if (!redisUrl) {
    const throwaway = await startThrowawayRedis();
    redisUrl = throwaway.url;
    stopRedis = throwaway.stop;
    console.log(`REDIS_URL is not set: started a throwaway redis-server at ${redisUrl} (stopped on exit).`);
  }
  const app = await NestFactory.create(AppModule.register({ ...config, redisUrl }));
  // No enableShutdownHooks(): Nest would re-raise the signal after closing the app and kill the
  // process before the throwaway Redis is stopped. The handlers below close both, in order.
  await app.listen(config.port, config.host);
  console.log(`tidykv demo listening on http://${config.host}:${config.port}`);
  const shutdown = async () => {
    await app.close();
    await stopRedis?.();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
