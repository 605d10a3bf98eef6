import { NestFactory } from '@nestjs/core';
import { createRedisClient } from '@tidykv/session';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('Set REDIS_URL to a Redis this app may write to.');
  const client = createRedisClient({ url }, 'consumer-app');
  client.on('error', (err: Error) => console.error(`redis: ${err.message}`));
  const app = await NestFactory.create(AppModule.register({ client }));
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`listening on ${await app.getUrl()}`);
  // The app owns the client: close it once Nest has closed (and tidykv has finished its saves).
  const shutdown = async () => {
    await app.close();
    await client.quit();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}
void bootstrap();
