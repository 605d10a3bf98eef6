// The app around packages/session/README.md's quick start, which the runner copies verbatim into
// ./quick-start.ts: the README's AppModule, booted on Express behind a TLS-terminating proxy that the
// app trusts (`trust proxy`), as the README's `cookie.secure` row and the warning it logs say to
// do. Nothing else is added; REDIS_URL, SESSION_SECRET and PORT come from the runner.
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './quick-start.js';

async function main() {
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.set('trust proxy', 1);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('readme app listening');
}
void main();
