// The app around packages/repository/README.md's quick start, which the runner copies verbatim
// into ./quick-start.ts. The quick start has no HTTP route of its own, so this main boots the README's
// AppModule as an HTTP app (its APP_FILTER included) and drives the README's TokenService: two
// tokens issued for one user and one for another, found by the @Indexed userId, the other user's
// revoked. It prints one JSON line, which the runner checks along with the keys left in Redis.
// REDIS_URL comes from the runner.
import { NestFactory } from '@nestjs/core';
import { AppModule, RefreshToken, TokenService } from './quick-start.js';

const describe = (t: RefreshToken) => ({
  id: t.id,
  userId: t.userId,
  isRefreshToken: t instanceof RefreshToken,
  issuedAt: t.issuedAt instanceof Date ? t.issuedAt.toISOString() : `not a Date: ${String(t.issuedAt)}`,
});

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.init();
  const tokens = app.get(TokenService);
  const issued = [await tokens.issue('ada'), await tokens.issue('ada'), await tokens.issue('bob')];
  const found = await tokens.list('ada');
  const revoked = await tokens.revokeAll('bob');
  const bobAfter = await tokens.list('bob');
  console.log(`readme-scenario ${JSON.stringify({ issued: issued.map(describe), found: found.map(describe), revoked, bobAfter: bobAfter.map(describe) })}`);
  await app.close();
}
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
