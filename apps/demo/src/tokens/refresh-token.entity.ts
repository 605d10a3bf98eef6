import { Id, Indexed, RedisEntity, TimeToLive } from '@tidykv/repository';

/**
 * A refresh token, stored under the SHA-256 of its secret (the secret itself exists only in the
 * response that hands it out). A rotated token is replaced by a tombstone, the same entity with
 * `rotatedAt` set under {@link rotatedTokenId}, kept until the old token would have expired, so
 * that presenting it again is recognised as reuse.
 */
@RedisEntity({ keyspace: 'refresh-token' })
export class RefreshToken {
  /** base64url SHA-256 of the secret (live token), or `rotated:` + that (tombstone). */
  @Id() id!: string;
  /** Owner; indexed for "list my tokens" and "log out everywhere". */
  @Indexed() userId!: Indexed<string>;
  /** The login this token descends from; indexed so that reuse revokes the whole family. */
  @Indexed() familyId!: Indexed<string>;
  issuedAt!: Date;
  expiresAt!: Date;
  /** When it was rotated: set on tombstones only. */
  rotatedAt: Date | null = null;
  /** Seconds to live, from REFRESH_TTL_SECONDS (a tombstone: what the rotated token had left). */
  @TimeToLive() ttlSeconds!: number;
}

/** Id of the tombstone a rotated token leaves behind. */
export function rotatedTokenId(hash: string): string {
  return `rotated:${hash}`;
}
