import { describe, expect, it } from '@jest/globals';
import { TidyKvKeys } from '@tidykv/core';
import { IndexRuleLayout } from './index-rule.layout.js';
import { TIDYKV_REPOSITORY_RULE, tidykvRepositoryRule } from './tidykv-repository.layout.js';

// Keys are built with core's TidyKvKeys, the layout @tidykv/repository writes with.
const keys = new TidyKvKeys('tkv:');
const layout = new IndexRuleLayout([tidykvRepositoryRule(keys)]);

function targetOf(indexKey: string, member: string): string | undefined {
  const c = layout.classify({ key: indexKey, type: 'zset', pttl: -1 });
  if (!c || !('container' in c)) throw new Error(`${indexKey} is not recognised`);
  expect(c.container).toMatchObject({ kind: 'index', rule: TIDYKV_REPOSITORY_RULE, scoreIsExpiry: true });
  return c.container.target?.(member);
}

describe('tidykv repository @Indexed index', () => {
  it('points an id at the entity hash of the keyspace, encoded as the repository encodes it', () => {
    expect(targetOf(keys.entityIndex('users', 'email', 'a%40b.com'), 'u1')).toBe(keys.entity('users', 'u1'));
    expect(targetOf(keys.entityIndex('audit-token', 'userId', 'alice'), 'a b@c')).toBe(keys.entity('audit-token', 'a b@c'));
    expect(targetOf(keys.entityIndex('users', 'city', 'paris'), 'ünï')).toBe(keys.entity('users', 'ünï'));
  });

  it('leaves alone an id no entity key can hold', () => {
    expect(targetOf(keys.entityIndex('users', 'email', 'x'), '')).toBeUndefined();
  });

  it('does not take entity hashes or principal indexes for entity indexes', () => {
    expect(layout.classify({ key: keys.entity('users', 'u1'), type: 'zset', pttl: -1 })).toBeUndefined();
    expect(layout.classify({ key: keys.principalIndex('Ab3x'), type: 'zset', pttl: -1 })).toBeUndefined();
  });
});
