import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { resetTidyKvMetrics } from '@tidykv/core';
import { startRedis, type RedisTestServer } from '@tidykv/testing';
import { Agent, startExpressApp, type TestApp } from './support/session-app.js';

// OpenTelemetry: tidykv records through @opentelemetry/api only; with an SDK installed (as here)
// the app sees saves by outcome, commands per request and near-cache hits and misses.

function points(all: ResourceMetrics[], name: string): { value: unknown; attributes: Record<string, unknown> }[] {
  return all.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as { value: unknown; attributes: Record<string, unknown> }[])));
}

describe('@tidykv/session metrics', () => {
  let redis: RedisTestServer;
  let app: TestApp;
  let exporter: InMemoryMetricExporter;
  let reader: PeriodicExportingMetricReader;

  beforeAll(async () => {
    exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    resetTidyKvMetrics();
    redis = await startRedis({ own: true });
    app = await startExpressApp({ connection: { url: redis.url }, nearCache: true });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
    await reader.shutdown();
    metrics.disable();
    resetTidyKvMetrics();
  });

  it('counts saves by outcome, commands per request and near-cache lookups', async () => {
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    await a.post('/s/set', { n: 2 });
    await a.get('/s/read');
    await a.get('/s/read');
    await reader.forceFlush();
    const all = exporter.getMetrics();
    const saves = points(all, 'tidykv.session.saves');
    expect(saves.find((p) => p.attributes.outcome === 'created')?.value).toBe(1);
    expect(saves.find((p) => p.attributes.outcome === 'saved')?.value).toBe(1);
    const perRequest = points(all, 'tidykv.session.commands_per_request')[0]?.value as { count: number; sum: number };
    // Four requests: create (1), load + save (2), and two reads of at most one command each.
    expect(perRequest.count).toBe(4);
    expect(perRequest.sum).toBeGreaterThanOrEqual(3);
    expect(perRequest.sum).toBeLessThanOrEqual(5);
    const cache = points(all, 'tidykv.session.near_cache');
    expect(cache.some((p) => p.attributes.result === 'miss')).toBe(true);
  });
});
