import { expect } from '@jest/globals';
import { Agent } from './session-app.js';

/**
 * What must hold identically on Express and Fastify: a 4xx answer keeps the handler's writes, a
 * handler that sends the response itself (`@Res()`) is saved before it goes out, and a cookie the
 * app sets survives next to ours. One body, run by both platform suites, so they cannot drift.
 */
export async function expectAnswersKeepWritesAndCookies(url: string): Promise<void> {
  const a = new Agent(url);
  await a.post('/s/set', { n: 1 });
  expect((await a.post('/s/reject')).status).toBe(401);
  expect((await a.post('/s/reject')).status).toBe(401);
  const raw = new Agent(url);
  const r = await raw.post('/s/raw-response');
  expect(r.status).toBe(200);
  expect(r.body).toBe('raw');
  expect((await raw.get('/s/read')).body).toEqual({ raw: true });
  expect((await a.get('/s/read')).body).toEqual({ n: 1, attempts: 2 });
  const c = await new Agent(url).post('/s/app-cookie');
  expect(c.setCookie).toHaveLength(2);
  expect(c.setCookie[0]).toBe('app=1; Path=/');
  expect(c.setCookie[1]).toMatch(/^sid=/);
}
