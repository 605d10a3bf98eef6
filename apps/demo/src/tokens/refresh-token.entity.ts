import { Id, Indexed, RedisEntity } from '@tidykv/repository';

/** A refresh token: one hash per token, gone 7 days after issue, listed and revoked per user. */
@RedisEntity({ keyspace: 'refresh-token', ttl: 7 * 24 * 3600 })
export class RefreshToken {
  /** The opaque token value handed to the client. */
  @Id() id!: string;
  /** Owner; indexed so that "list my sessions" and "log out everywhere" are one query. */
  @Indexed() userId!: Indexed<string>;
  issuedAt!: Date;
}
