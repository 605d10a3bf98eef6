import { TidyKvKeys } from '@tidykv/core';
import type { IndexRule } from './layout.js';

/** Name of the rule in reports. */
export const TIDYKV_REPOSITORY_RULE = 'tidykv-repository-index';

/**
 * @tidykv/repository's `@Indexed` properties, as core's {@link TidyKvKeys} lays them out: a ZSET
 * `<prefix><keyspace>:idx:<property>:{<value part>}` of entity ids scored by expiry ms (`+inf`
 * without TTL), each pointing at the entity hash `<prefix><keyspace>:{<encoded id>}`. An id
 * that no entity key can hold names nothing and is left alone.
 */
export function tidykvRepositoryRule(keys: TidyKvKeys): IndexRule {
  return {
    name: TIDYKV_REPOSITORY_RULE,
    match: keys.entityIndexGlob,
    // captures: keyspace, property, value part.
    target: (member, captures) => {
      try {
        return keys.entity(captures[0], member);
      } catch {
        return undefined;
      }
    },
    scoreIsExpiry: true,
  };
}
