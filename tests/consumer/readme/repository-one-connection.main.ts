// The app around packages/repository/README.md's "One connection" example, which the runner copies
// verbatim into ./one-connection.ts: its AppModule (RepositoryModule and SessionModule sharing the
// app's one ioredis client) booted as an HTTP app; the runner counts the server's clients while it
// runs. The example leaves closing the client to the app: its shutdown ends the process after
// app.close(). REDIS_URL, SESSION_SECRET and PORT come from the runner.
import { NestFactory } from '@nestjs/core';
import { AppModule } from './one-connection.js';

async function main() {
  const app = await NestFactory.create(AppModule);
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('readme app listening');
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
void main();
