import { describe, expect, it } from '@jest/globals';
import { SPRING_PRINCIPAL_INDEX, classifySpringSession } from './spring-session.layout.js';

const NS = 'spring:session';
const NOW = Date.UTC(2026, 0, 1, 12, 0);
const minute = (m: number): number => Math.floor(NOW / 60_000) * 60_000 + m * 60_000;

describe('classifySpringSession', () => {
  it('checks expiration buckets without TTL or past their 5-minute grace, pointing at the session keys', () => {
    const noTtl = classifySpringSession({ key: `${NS}:expirations:${minute(3)}`, type: 'set', pttl: -1 }, NS, NOW);
    expect(noTtl).toMatchObject({ container: { kind: 'spring-session-expirations', scoreIsExpiry: false } });
    if (!noTtl || !('container' in noTtl)) throw new Error('expected a container');
    expect(noTtl.container.target?.('expires:abc')).toBe(`${NS}:sessions:expires:abc`);
    expect(classifySpringSession({ key: `${NS}:expirations:${minute(-6)}`, type: 'set', pttl: 1000 }, NS, NOW)).toMatchObject({ container: { kind: 'spring-session-expirations' } });
  });

  it('leaves a bucket alone while its TTL and grace still clean it up, judged by the clock given', () => {
    expect(classifySpringSession({ key: `${NS}:expirations:${minute(-4)}`, type: 'set', pttl: 60_000 }, NS, NOW)).toBeUndefined();
    // The same bucket is past its grace by a server clock 2 minutes later.
    expect(classifySpringSession({ key: `${NS}:expirations:${minute(-4)}`, type: 'set', pttl: 60_000 }, NS, NOW + 120_000)).toBeDefined();
  });

  it('checks principal index sets and session hashes (for a missing creationTime)', () => {
    expect(classifySpringSession({ key: `${NS}:index:${SPRING_PRINCIPAL_INDEX}:alice`, type: 'set', pttl: -1 }, NS, NOW)).toMatchObject({
      container: { kind: 'spring-session-index', key: `${NS}:index:${SPRING_PRINCIPAL_INDEX}:alice` },
    });
    expect(classifySpringSession({ key: `${NS}:sessions:abc`, type: 'hash', pttl: 5 }, NS, NOW)).toEqual({
      orphanKey: { kind: 'spring-session-partial', key: `${NS}:sessions:abc`, type: 'hash', pttl: 5, missingField: 'creationTime', requireNoTtl: false },
    });
  });

  it('ignores expiry keys, other types and other namespaces', () => {
    expect(classifySpringSession({ key: `${NS}:sessions:expires:abc`, type: 'string', pttl: 5 }, NS, NOW)).toBeUndefined();
    expect(classifySpringSession({ key: `${NS}:sessions:expires:abc`, type: 'hash', pttl: 5 }, NS, NOW)).toBeUndefined();
    expect(classifySpringSession({ key: `${NS}:index:x`, type: 'zset', pttl: 5 }, NS, NOW)).toBeUndefined();
    expect(classifySpringSession({ key: 'other:sessions:abc', type: 'hash', pttl: 5 }, NS, NOW)).toBeUndefined();
  });
});
