import { describe, expect, it } from '@jest/globals';
import { HttpSession } from './http-session.model.js';
import { InMemorySessionRepository } from './internal/in-memory-session.repository.js';
import { newSessionId, randomTag } from './internal/session-id.js';
import { SessionRuntime } from './internal/session-runtime.js';
import { resolveSessionOptions, type SessionModuleOptions } from './session.options.js';

// The request model against the in-memory twin of the repository: what each request asks the
// repository for, and what the response must carry. The Redis behaviour itself is proven in test/.

const SECRET = 'unit-secret-unit-secret-unit-secret-0001';

function setup(extra: Partial<SessionModuleOptions> = {}, canDeliver = true) {
  let now = 1_800_000_000_000;
  const options = resolveSessionOptions({ connection: { url: 'redis://127.0.0.1:1' }, secrets: [SECRET], touchIntervalMs: 60_000, principal: 'userId', ...extra });
  const repo = new InMemorySessionRepository(
    { idleTimeoutMs: options.idleTimeoutMs, absoluteTimeoutMs: options.absoluteTimeoutMs, touchIntervalMs: options.touchIntervalMs, principal: options.principal },
    () => now,
  );
  const warnings: string[] = [];
  const runtime = new SessionRuntime(options, repo, (id) => `key:${id}`, { warn: (m: string) => void warnings.push(m) });
  const request = (id?: string) => new HttpSession(runtime, id, canDeliver);
  const advance = (ms: number) => {
    now += ms;
  };
  return { repo, runtime, request, advance, warnings };
}

async function stored(s: ReturnType<typeof setup>, attributes: Record<string, unknown>): Promise<string> {
  const first = s.request();
  await first.load();
  for (const [k, v] of Object.entries(attributes)) first.set(k, v);
  await first.commit();
  return first.id as string;
}

describe('HttpSession', () => {
  it('a read-only request asks the repository for nothing at the end', async () => {
    const s = setup();
    const id = await stored(s, { n: 1 });
    const r = s.request(id);
    await r.load();
    expect(r.get('n')).toBe(1);
    expect(r.commit()).toBeUndefined();
    expect(s.repo.calls.save).toBe(0);
  });

  it('a request without a session that writes nothing creates nothing', async () => {
    const s = setup();
    const r = s.request();
    await r.load();
    expect(r.commit()).toBeUndefined();
    expect(s.repo.calls.create).toBe(0);
    expect(r.transportChange).toBeUndefined();
  });

  it('the first write of a new session creates it once and sets the cookie', async () => {
    const s = setup();
    const r = s.request();
    await r.load();
    r.set('n', 1);
    expect((await r.commit())?.status).toBe('created');
    expect(s.repo.calls.create).toBe(1);
    expect(r.transportChange).toBe('set');
    expect(s.repo.peek(r.id as string)?.attributes.get('n')).toBe('1');
  });

  it('regenerate on a new session creates one id with one command', async () => {
    const s = setup();
    const r = s.request();
    await r.load();
    r.regenerate();
    r.set('userId', 'ada');
    expect((await r.save()).status).toBe('created');
    const id = r.id;
    // The end-of-request save finds nothing left to do: no rename to a second id.
    expect(r.commit()).toBeUndefined();
    expect(r.id).toBe(id);
    expect(s.repo.calls).toMatchObject({ create: 1, rename: 0 });
  });

  it('regenerate on an existing session moves it to one new id, keeping its data', async () => {
    const s = setup();
    const id = await stored(s, { cart: [1] });
    const r = s.request(id);
    await r.load();
    r.regenerate();
    r.set('userId', 'ada');
    expect((await r.commit())?.status).toBe('regenerated');
    expect(r.id).not.toBe(id);
    expect(s.repo.peek(id)).toBeUndefined();
    expect(s.repo.peek(r.id as string)?.attributes.get('cart')).toBe('[1]');
    expect(s.repo.calls.rename).toBe(1);
  });

  it('a write to a session logged out meanwhile is dropped, never recreated', async () => {
    const s = setup();
    const id = await stored(s, { n: 1 });
    const r = s.request(id);
    await r.load();
    await s.request(id).invalidate();
    r.set('n', 2);
    expect((await r.commit())?.status).toBe('dropped');
    expect(r.isDead).toBe(true);
    expect(s.repo.size).toBe(0);
  });

  it('invalidate deletes the session, clears the cookie and refuses later writes', async () => {
    const s = setup();
    const id = await stored(s, { n: 1 });
    const r = s.request(id);
    await r.invalidate();
    expect(s.repo.peek(id)).toBeUndefined();
    expect(r.transportChange).toBe('clear');
    expect(() => r.set('n', 3)).toThrow(/invalidated/);
  });

  it('increment adds to the stored value and reflects it in the request', async () => {
    const s = setup();
    const id = await stored(s, { visits: 2 });
    const r = s.request(id);
    expect(await r.increment('visits')).toBe(3);
    expect(r.get('visits')).toBe(3);
    expect(s.repo.peek(id)?.attributes.get('visits')).toBe('3');
    expect(r.commit()).toBeUndefined();
  });

  it('increment on a new session creates it holding the increment', async () => {
    const s = setup();
    const r = s.request();
    expect(await r.increment('visits', 5)).toBe(5);
    expect(s.repo.calls).toMatchObject({ create: 1, increment: 0 });
    expect(r.transportChange).toBe('set');
  });

  it('increment of an attribute with an unsaved set in the same request is refused', async () => {
    const s = setup();
    const id = await stored(s, { visits: 2 });
    const r = s.request(id);
    await r.load();
    r.set('visits', 10);
    await expect(r.increment('visits')).rejects.toMatchObject({ code: 'TIDYKV_SESSION_STATE' });
  });

  it('increment on a session that is gone rejects with TIDYKV_SESSION_GONE and writes nothing', async () => {
    const s = setup();
    const id = await stored(s, { visits: 2 });
    const r = s.request(id);
    await r.load();
    await s.request(id).invalidate();
    await expect(r.increment('visits')).rejects.toMatchObject({ code: 'TIDYKV_SESSION_GONE' });
    expect(s.repo.size).toBe(0);
  });

  it('increment of a non-integer attribute is a typed error', async () => {
    const s = setup();
    const id = await stored(s, { name: 'ada' });
    await expect(s.request(id).increment('name')).rejects.toMatchObject({ code: 'TIDYKV_SESSION_ATTRIBUTE' });
  });

  it('a persistent cookie is sent again when a load touches the session', async () => {
    const s = setup({ cookie: { maxAgeMs: 3_600_000 } });
    const id = await stored(s, { n: 1 });
    s.advance(61_000);
    const r = s.request(id);
    await r.load();
    expect(r.transportChange).toBe('refresh');
  });

  it('a browser-session cookie is not sent again on a touch', async () => {
    const s = setup();
    const id = await stored(s, { n: 1 });
    s.advance(61_000);
    const r = s.request(id);
    await r.load();
    expect(r.transportChange).toBeUndefined();
  });

  it('a session whose cookie cannot be delivered (Secure on plain HTTP) is not created, with one warning', async () => {
    const s = setup({}, false);
    for (let i = 0; i < 2; i++) {
      const r = s.request();
      await r.load();
      r.set('n', 1);
      expect((await r.commit())?.status).toBe('unchanged');
    }
    expect(s.repo.calls.create).toBe(0);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatch(/trust proxy/);
  });

  it('on-get persists an object mutated in place', async () => {
    const s = setup({ saveMode: 'on-get' });
    const id = await stored(s, { cart: [1] });
    const r = s.request(id);
    await r.load();
    r.get<number[]>('cart')?.push(2);
    expect((await r.commit())?.status).toBe('saved');
    expect(s.repo.peek(id)?.attributes.get('cart')).toBe('[1,2]');
  });

  it('a cookie id Redis does not know is never reused for a new session', async () => {
    const s = setup();
    const unknown = newSessionId(randomTag());
    const r = s.request(unknown);
    await r.load();
    r.set('n', 1);
    await r.commit();
    expect(r.id).not.toBe(unknown);
  });
});
