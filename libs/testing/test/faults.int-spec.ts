import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connectionIds, debugSleep, eventually, killConnections, killConnectionsPeriodically, pauseClients, RedisProcess } from '../src/index.js';

// The fault helpers inject each fault for real and exactly once; these tests pin what each one does.
describe('fault helpers', () => {
  it('kill() is a kill -9: with AOF (appendfsync always) every acknowledged write is back after start()', async () => {
    const p = await RedisProcess.start({ persistence: 'aof' });
    try {
      const c = p.client({ maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      for (let i = 0; i < 50; i++) await c.set(`k${i}`, String(i));
      const pid = p.pid;
      await p.kill();
      expect(p.running).toBe(false);
      await p.start();
      expect(p.pid).not.toBe(pid);
      await eventually(async () => (await c.dbsize().catch(() => -1)) === 50, 10_000, 'the AOF to be loaded');
      expect(await c.get('k49')).toBe('49');
    } finally {
      await p.close();
    }
  });

  it('kill() without persistence loses everything', async () => {
    const p = await RedisProcess.start();
    try {
      const c = p.client({ maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      await c.set('k', 'v');
      await p.kill();
      await p.start();
      await eventually(async () => (await c.dbsize().catch(() => -1)) === 0, 10_000, 'the server to answer');
    } finally {
      await p.close();
    }
  });

  describe('on a shared server', () => {
    let p: RedisProcess;
    beforeAll(async () => {
      p = await RedisProcess.start({ allowDebug: true });
    });
    afterAll(() => p.close());

    it('pauseClients(ALL) holds other clients\' commands until the pause ends, then runs them', async () => {
      const c = p.client();
      await c.ping();
      const started = performance.now();
      await pauseClients(p, 300, 'ALL');
      await c.set('paused', '1');
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(await c.get('paused')).toBe('1');
    });

    it('pauseClients(WRITE) holds writes and lets reads through', async () => {
      const c = p.client();
      const w = p.client();
      await Promise.all([c.ping(), w.ping()]);
      await pauseClients(p, 400, 'WRITE');
      const started = performance.now();
      const write = w.set('w', '1').then(() => performance.now() - started);
      expect(await c.get('nothing')).toBeNull();
      expect(performance.now() - started).toBeLessThan(300);
      expect(await write).toBeGreaterThanOrEqual(300);
    });

    it('debugSleep blocks the whole server for the given time', async () => {
      const c = p.client();
      await c.ping();
      const sleeping = debugSleep(p, 300);
      await eventually(async () => Promise.race([c.ping().then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 50))]), 5_000, 'the server to block');
      expect(await sleeping).toBeGreaterThanOrEqual(250);
    });

    it('killConnections kills only the connections with that name, and they reconnect', async () => {
      const victim = new Redis({ host: p.host, port: p.port, connectionName: 'victim' });
      const bystander = p.client({ connectionName: 'bystander' });
      victim.on('error', () => undefined);
      try {
        await Promise.all([victim.ping(), bystander.ping()]);
        const closed = new Promise<void>((r) => victim.once('close', () => r()));
        expect(await killConnections(p, 'victim')).toBe(1);
        await closed;
        expect(await bystander.ping()).toBe('PONG');
        await eventually(async () => (await connectionIds(bystander, 'victim')).length === 1, 5_000, 'the victim to reconnect');
      } finally {
        victim.disconnect();
      }
    });

    it('killConnectionsPeriodically keeps killing the named connections until stopped', async () => {
      const victim = new Redis({ host: p.host, port: p.port, connectionName: 'periodic-victim' });
      victim.on('error', () => undefined);
      let closes = 0;
      victim.on('close', () => closes++);
      try {
        await victim.ping();
        const killer = await killConnectionsPeriodically(p, { name: 'periodic-victim', everyMs: 100 });
        await eventually(() => killer.killed >= 3, 10_000, 'three kills');
        const report = await killer.stop();
        expect(report.killed).toBeGreaterThanOrEqual(3);
        expect(report.rounds).toBeGreaterThanOrEqual(report.killed);
        expect(closes).toBeGreaterThanOrEqual(3);
      } finally {
        victim.disconnect();
      }
    });
  });
});
