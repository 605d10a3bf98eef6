import { describe, expect, it } from '@jest/globals';
import { TidyKvConfigError } from '@tidykv/core';
import { parseIndexRule } from './audit.command.js';
import { DEFAULT_SCAN_OPTIONS, parseDuration, tidykvIndexRules, validateFixOptions, validateOrphanOptions, validateScanOptions } from './audit.options.js';
import { connectionOptionsFromFlags } from './connection.flags.js';
import { renderTarget } from './internal/layouts/index-rule.layout.js';

function configError(fn: () => unknown): TidyKvConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TidyKvConfigError);
    return err as TidyKvConfigError;
  }
  throw new Error('expected a TidyKvConfigError');
}

describe('options', () => {
  it('fills defaults with ??, so explicit zeros survive', () => {
    const o = validateScanOptions({ memorySampleRate: 0, memorySamples: 0 });
    expect(o.memorySampleRate).toBe(0);
    expect(o.memorySamples).toBe(0);
    expect(o.count).toBe(DEFAULT_SCAN_OPTIONS.count);
    expect(Object.isFrozen(DEFAULT_SCAN_OPTIONS)).toBe(true);
  });

  it('validates the scan budget, measuring and bounding options at start-up', () => {
    const o = validateScanOptions({});
    expect([o.maxBlockMs, o.measureAbove, o.topKeys, o.maxPatterns]).toEqual([1, 8192, 10, 2000]);
    const e = configError(() => validateScanOptions({ maxBlockMs: 0 }));
    expect(e.option).toBe('maxBlockMs');
    expect(e.message).toContain('received 0');
    expect(e.message).toContain('keeps each command under 1 ms');
    expect(configError(() => validateScanOptions({ maxBlockMs: Number.NaN })).option).toBe('maxBlockMs');
    expect(configError(() => validateScanOptions({ measureAbove: -1 })).option).toBe('measureAbove');
    expect(configError(() => validateScanOptions({ topKeys: 0 })).option).toBe('topKeys');
    expect(configError(() => validateScanOptions({ maxPatterns: 1.5 })).option).toBe('maxPatterns');
    expect(validateScanOptions({ maxBlockMs: 0.25, measureAbove: 0 })).toMatchObject({ maxBlockMs: 0.25, measureAbove: 0 });
  });

  it('rejects bad values naming the option, the value and the fix', () => {
    const e = configError(() => validateScanOptions({ memorySampleRate: 2 }));
    expect(e.code).toBe('TIDYKV_CONFIG');
    expect(e.option).toBe('memorySampleRate');
    expect(e.message).toContain('received 2');
    expect(e.message).toContain('1 for exact figures');
    expect(configError(() => validateScanOptions({ rate: -1 })).option).toBe('rate');
    expect(configError(() => validateScanOptions({ type: 'json' })).option).toBe('type');
    expect(configError(() => validateOrphanOptions({ indexRules: [{ name: 'x', match: 'a:*', target: 'no-member' }] })).option).toBe('indexRules[0].target');
    expect(configError(() => validateFixOptions({})).option).toBe('fix');
    expect(configError(() => validateFixOptions({ pruneOrphans: true, replicas: true })).option).toBe('replicas');
    expect(configError(() => validateFixOptions({ expireSeconds: 1.5 })).option).toBe('expireSeconds');
  });

  it('parses durations', () => {
    expect(parseDuration('3600')).toBe(3600);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('30d')).toBe(2_592_000);
    expect(parseDuration('1d12h')).toBe(129_600);
    expect(configError(() => parseDuration('soon', '--expire')).option).toBe('--expire');
    expect(() => parseDuration('0')).toThrow(TidyKvConfigError);
    expect(() => parseDuration('5x')).toThrow(TidyKvConfigError);
  });
});

describe('connectionOptionsFromFlags', () => {
  it('builds core connection options, with the password from the environment', () => {
    expect(connectionOptionsFromFlags({ host: 'h', port: '7000', user: 'ops' }, { TIDYKV_AUDIT_PASSWORD: 's3cret' })).toEqual({
      host: 'h',
      port: 7000,
      username: 'ops',
      password: 's3cret',
      commandTimeoutMs: 10_000,
    });
    expect(connectionOptionsFromFlags({ url: 'rediss://h:6380/2' }, { REDISCLI_AUTH: 'x' })).toMatchObject({ url: 'rediss://h:6380/2', password: 'x' });
    expect(connectionOptionsFromFlags({ cluster: 'a:7000,b:7001', replicas: true, tls: true }, {})).toEqual({
      cluster: { nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], options: { scaleReads: 'slave' } },
      tls: true,
      commandTimeoutMs: 10_000,
    });
    expect(connectionOptionsFromFlags({ sentinels: 's1:26379', sentinelName: 'mymaster' }, {})).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' });
  });

  it('refuses ambiguous or malformed flags', () => {
    expect(configError(() => connectionOptionsFromFlags({}, {})).message).toContain('--url, --host, --cluster or --sentinels');
    expect(configError(() => connectionOptionsFromFlags({ url: 'redis://a', host: 'b' }, {})).message).toContain('--url and --host');
    expect(configError(() => connectionOptionsFromFlags({ host: 'h', port: 'abc' }, {})).option).toBe('--port');
    expect(configError(() => connectionOptionsFromFlags({ cluster: 'nohostport' }, {})).option).toBe('--cluster');
    expect(configError(() => connectionOptionsFromFlags({ url: 'http://x' }, {})).option).toBe('connection.url');
  });
});

describe('index rules', () => {
  it('parses CLI rules', () => {
    expect(parseIndexRule('byUser=app:idx:*=>app:sess:{$member}')).toEqual({ name: 'byUser', match: 'app:idx:*', target: 'app:sess:{$member}' });
    expect(parseIndexRule('exp=app:exp:*')).toEqual({ name: 'exp', match: 'app:exp:*' });
  });

  it('renders target templates', () => {
    expect(renderTarget('tkv:s:{$member[0:4]}$member[4:26]', 'abcdEFGHIJKLMNOPQRSTUVWXYZ:alice', [])).toBe('tkv:s:{abcd}EFGHIJKLMNOPQRSTUVWXYZ');
    expect(renderTarget('tkv:$1:{$member_encoded}', 'a b', ['users', 'email:{x}'])).toBe('tkv:users:{a%20b}');
  });

  it("describes tidykv's own layouts under a prefix", () => {
    const [session, repo] = tidykvIndexRules('app:');
    // The globs are core's TidyKvKeys globs: the auditor describes no tidykv key itself.
    expect(session.match).toBe('app:u:{????}');
    expect(repo.match).toBe('app:*:idx:*:{*}');
    expect(configError(() => tidykvIndexRules('a*')).option).toBe('tidykvPrefix');
  });
});
