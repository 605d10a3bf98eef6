import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import type { Server } from 'node:http';
import { listKeys } from '@tidykv/testing';
import { DemoClient } from './support/demo-client.js';
import { startDemo, type DemoHarness } from './support/demo-harness.js';

const LEGACY_SECRET = 'the-old-express-session-secret';

/** An express-session + connect-redis app on the demo's Redis: the app the demo replaces. */
async function startLegacyApp(h: DemoHarness): Promise<{ base: string; close(): Promise<void> }> {
  const app = express();
  app.use(express.json());
  app.use(session({ store: new RedisStore({ client: h.redis.client(), prefix: 'sess:' }), secret: LEGACY_SECRET, resave: false, saveUninitialized: false }));
  app.post('/login', (req, res) => {
    (req.session as unknown as { userId: string }).userId = (req.body as { userId: string }).userId;
    res.json({ ok: true });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// LEGACY_SESSION_SECRETS reaches SessionModule's `legacy` option: the old app's users stay logged in.
describe('the demo with LEGACY_SESSION_SECRETS', () => {
  let h: DemoHarness;
  let legacy: { base: string; close(): Promise<void> };

  beforeAll(async () => {
    h = await startDemo('express', { LEGACY_SESSION_SECRETS: `a-retired-secret,${LEGACY_SECRET}` });
    legacy = await startLegacyApp(h);
  });
  afterAll(async () => {
    await legacy?.close();
    await h?.close();
  });

  it('serves a user logged in on the express-session app as that user, under a tidykv session of its own', async () => {
    const old = new DemoClient(legacy.base);
    await old.post('/login', { userId: 'ada' });
    expect(old.cookie).toMatch(/^connect\.sid=s%3A/);
    expect(await listKeys(h.probe, 'sess:*')).toHaveLength(1);

    const c = new DemoClient(h.base);
    c.cookie = old.cookie;
    const me = await c.get('/me');
    expect(me).toMatchObject({ status: 200, body: { userId: 'ada' } });
    // tidykv's own cookie next to the legacy one, which nobody clears (a browser keeps sending both).
    expect(c.cookie).toMatch(/(^|; )sid=/);
    // The legacy key is retired; the user is ada on tidykv now, principal index included.
    expect(await listKeys(h.probe, 'sess:*')).toEqual([]);
    expect(await c.post('/me/visits')).toMatchObject({ status: 200, body: { visits: 1 } });
    expect(await c.get('/auth/sessions')).toMatchObject({ status: 200, body: [{ current: true }] });
  });

  it('ignores a legacy cookie signed with a secret it was not given', async () => {
    const c = new DemoClient(h.base);
    c.cookie = 'connect.sid=s%3Aabc.forged';
    expect((await c.get('/me')).status).toBe(401);
  });
});
