// The consumer suite's end-to-end scenario, the same in every generated app: login with
// @Session(), SessionAccessor in a guard, the repository with @Indexed and findBy, logout, and one
// Redis connection for both modules, against a private redis-server it starts. `start` brings up
// the app under test: built in process (app.e2e-spec.ts) or its built output as its own process
// (built.e2e-spec.ts, which the bundled app runs on its bundle).
import { Redis } from 'ioredis';
import request from 'supertest';
import { startRedis, type TestRedis } from './redis-server.js';

export interface Target {
  server: Parameters<typeof request>[0];
  close(): Promise<void>;
}

export function describeScenario(title: string, start: (redisUrl: string) => Promise<Target>): void {
  describe(title, () => {
    let redis: TestRedis;
    let probe: Redis;
    let target: Target;

    beforeAll(async () => {
      redis = await startRedis();
      probe = new Redis(redis.url);
      target = await start(redis.url);
    }, 30_000);

    afterAll(async () => {
      await target?.close();
      await probe?.quit();
      await redis?.stop();
    });

    it('logs in and reads the session back through @Session()', async () => {
      const agent = request.agent(target.server);
      await agent.post('/auth/login').send({ userId: 'ada' }).expect(201, { userId: 'ada' });
      await agent.get('/me').expect(200, { userId: 'ada' });
    });

    it('turns a request without a session away in a guard that uses SessionAccessor', async () => {
      await request(target.server).get('/me').expect(403);
    });

    it('saves entities with an @Indexed property and finds them by it', async () => {
      const agent = request.agent(target.server);
      await agent.post('/auth/login').send({ userId: 'grace' }).expect(201);
      const first = await agent.post('/tokens').expect(201);
      const second = await agent.post('/tokens').expect(201);
      const listed = await agent.get('/tokens').expect(200);
      const ids = (listed.body as { id: string; userId: string; issuedAt: string }[]).map((t) => t.id).sort();
      expect(ids).toEqual([(first.body as { id: string }).id, (second.body as { id: string }).id].sort());
      for (const t of listed.body as { userId: string; issuedAt: string }[]) {
        expect(t.userId).toBe('grace');
        expect(Number.isNaN(Date.parse(t.issuedAt))).toBe(false);
      }
    });

    it('logs out for good: the session is gone from Redis and the cookie no longer works', async () => {
      const agent = request.agent(target.server);
      await agent.post('/auth/login').send({ userId: 'linus' }).expect(201);
      const before = await probe.keys('tkv:s:*');
      await agent.post('/auth/logout').expect(204);
      await agent.get('/me').expect(403);
      const after = await probe.keys('tkv:s:*');
      expect(after.length).toBe(before.length - 1);
    });

    it('opens exactly one Redis connection for SessionModule and RepositoryModule together', async () => {
      await request.agent(target.server).post('/auth/login').send({ userId: 'margaret' }).expect(201);
      const probeId = await probe.client('ID');
      const clients = String(await probe.client('LIST'))
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith(`id=${probeId} `));
      expect(clients).toHaveLength(1);
      expect(clients[0]).toContain('name=consumer-app');
    });
  });
}
