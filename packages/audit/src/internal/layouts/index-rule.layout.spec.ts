import { describe, expect, it } from '@jest/globals';
import { IndexRuleLayout, globToRegex, renderTarget } from './index-rule.layout.js';
import type { Container } from './layout.js';

function container(c: ReturnType<IndexRuleLayout['classify']>): Container {
  if (!c || !('container' in c)) throw new Error(`expected a container, got ${JSON.stringify(c)}`);
  return c.container;
}

describe('globToRegex', () => {
  it('captures * and ? parts and matches the whole key', () => {
    expect(globToRegex('app:*:idx:?').exec('app:users:idx:x')?.slice(1)).toEqual(['users', 'x']);
    expect(globToRegex('app:*').test('xapp:1')).toBe(false);
  });

  it('treats escaped glob characters, brackets and regex metacharacters literally', () => {
    expect(globToRegex('a\\*b').test('a*b')).toBe(true);
    expect(globToRegex('a\\*b').test('axb')).toBe(false);
    expect(globToRegex('v[0-9]').test('v7')).toBe(true);
    expect(globToRegex('v[^0-9]').test('v7')).toBe(false);
    expect(globToRegex('a.b(c)+').test('a.b(c)+')).toBe(true);
    expect(globToRegex('a.b').test('axb')).toBe(false);
  });
});

describe('renderTarget', () => {
  it('fills $member, slices, the encoded member and captures', () => {
    expect(renderTarget('s:{$member[0:4]}$member[4:]', 'abcdefg', [])).toBe('s:{abcd}efg');
    expect(renderTarget('$1:{$member_encoded}', 'a b', ['users'])).toBe('users:{a%20b}');
    expect(renderTarget('x:$2', 'm', ['one'])).toBe('x:');
  });
});

describe('IndexRuleLayout', () => {
  const layout = new IndexRuleLayout([
    { name: 'by-user', match: 'app:idx:*', target: 'app:sess:{$member}' },
    { name: 'expiring', match: 'app:exp:*' },
    { name: 'plain-scores', match: 'app:rank:*', target: 'app:item:$member', scoreIsExpiry: false },
  ]);

  it('makes a matching SET or ZSET an index pointing at the rule target', () => {
    const c = container(layout.classify({ key: 'app:idx:alice', type: 'set', pttl: -1 }));
    expect(c).toMatchObject({ kind: 'index', rule: 'by-user', key: 'app:idx:alice', type: 'set', scoreIsExpiry: false });
    expect(c.target?.('s1')).toBe('app:sess:{s1}');
    expect(container(layout.classify({ key: 'app:idx:bob', type: 'zset', pttl: 5 })).scoreIsExpiry).toBe(true);
  });

  it('judges by score alone without a target, and never by score when told they are not expiries', () => {
    expect(container(layout.classify({ key: 'app:exp:1', type: 'zset', pttl: -1 })).target).toBeUndefined();
    expect(container(layout.classify({ key: 'app:rank:1', type: 'zset', pttl: -1 })).scoreIsExpiry).toBe(false);
  });

  it('ignores other types and keys no rule matches', () => {
    expect(layout.classify({ key: 'app:idx:alice', type: 'hash', pttl: -1 })).toBeUndefined();
    expect(layout.classify({ key: 'other:idx:alice', type: 'set', pttl: -1 })).toBeUndefined();
  });
});
