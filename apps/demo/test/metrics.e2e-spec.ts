import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resetTidyKvMetrics } from '@tidykv/core';
import { DemoMetrics } from '../src/metrics/demo-metrics.js';
import { startDemo, type DemoHarness } from './support/demo-harness.js';

/** The value of the Prometheus sample `name` whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (m[2] ?? '').split(',').includes(`${k}="${v}"`));
    if (has) return Number(m[3]);
  }
  return undefined;
}

// OpenTelemetry wired as the demo's main.ts wires it: the SDK installed before the app, GET /metrics.
describe('GET /metrics', () => {
  let h: DemoHarness;
  let metrics: DemoMetrics;

  beforeAll(async () => {
    metrics = DemoMetrics.install();
    // Instruments made before the SDK (by an earlier suite in this worker) would stay no-ops.
    resetTidyKvMetrics();
    h = await startDemo('express', {}, { metrics });
  });
  afterAll(async () => {
    await h?.close();
    await metrics?.shutdown();
    resetTidyKvMetrics();
  });

  it('serves tidykv metrics as Prometheus text: saves by outcome and commands per request', async () => {
    const c = h.client();
    await c.login('ada');
    await c.post('/me/visits');
    await c.get('/me');
    await c.post('/auth/logout');
    const r = await h.client().get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    // The login created the session; the increment and the read wrote nothing at the end of their requests.
    expect(sample(r.text, 'tidykv_session_saves_total', { outcome: 'created' })).toBe(1);
    // One observation per request that touched the session: login, visits, /me, logout.
    expect(sample(r.text, 'tidykv_session_commands_per_request_count')).toBe(4);
    expect(sample(r.text, 'tidykv_session_commands_per_request_sum')).toBeGreaterThanOrEqual(4);
  });
});
