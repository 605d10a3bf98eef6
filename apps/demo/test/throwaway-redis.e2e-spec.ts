import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { startThrowawayRedis } from '../src/throwaway-redis.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const demoDirs = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('tidykv-demo-redis-'));

// The demo's own redis-server spawner (npm run demo without REDIS_URL), which replaced libs/testing.
describe('startThrowawayRedis', () => {
  it('starts a loopback redis-server on a free port that persists nothing, and stops it', async () => {
    const before = new Set(demoDirs());
    const redis = await startThrowawayRedis();
    const port = Number(new URL(redis.url).port);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(new URL(redis.url).hostname).toBe('127.0.0.1');
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    } finally {
      client.disconnect();
      await redis.stop();
    }
    expect(await accepts(port)).toBe(false);
    // Its working directory goes with it.
    expect(demoDirs().filter((d) => !before.has(d) && existsSync(`${tmpdir()}/${d}`))).toEqual([]);
  });

  it('gives two servers started side by side two ports', async () => {
    const [a, b] = await Promise.all([startThrowawayRedis(), startThrowawayRedis()]);
    try {
      expect(a.url).not.toBe(b.url);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
