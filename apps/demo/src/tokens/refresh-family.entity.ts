import { Id, Indexed, RedisEntity, TimeToLive } from '@tidykv/repository';

/**
 * One login's chain of refresh tokens. Its existence is what keeps the chain usable: revoking a
 * family deletes this hash first, and a rotation checks it after writing the new token, so a
 * rotation racing a revocation never leaves a live token behind. Its TTL is re-armed on every
 * rotation, so it outlives every token of the chain.
 */
@RedisEntity({ keyspace: 'refresh-family' })
export class RefreshFamily {
  /** 128 random bits, base64url. */
  @Id() id!: string;
  /** Owner; indexed for "log out everywhere". */
  @Indexed() userId!: Indexed<string>;
  createdAt!: Date;
  /** Seconds to live, from REFRESH_TTL_SECONDS. */
  @TimeToLive() ttlSeconds!: number;
}
