import { Field, Id, Indexed, RedisEntity, TimeToLive } from '../../src/index.js';

/** Every kind of property the codec must round-trip; no index, no TTL. */
@RedisEntity({ keyspace: 'profile' })
export class Profile {
  @Id() id!: string;
  name!: string;
  age!: number;
  active!: boolean;
  born!: Date;
  address?: { city: string; zip: string | null; tags: string[] };
  scores!: number[];
  nickname?: string;
  deletedAt!: Date | null;
}

/** The refresh-token incident: a 3 s TTL, nothing may remain afterwards. */
@RedisEntity({ keyspace: 'refresh-token', ttl: 3 })
export class RefreshToken {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
  device?: string;
  issuedAt!: Date;
}

/** The indexed-name incident: a 1 s TTL and an index on `name`. */
@RedisEntity({ keyspace: 'named', ttl: 1 })
export class Named {
  @Id() id!: string;
  @Indexed() name!: Indexed<string>;
}

/** Per-instance TTLs, two indexes, and a long default TTL. */
@RedisEntity({ keyspace: 'device', ttl: 60 })
export class Device {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
  @Indexed() platform?: Indexed<string> | null;
  @TimeToLive() ttl?: number;
  label?: string;
}

/** No TTL at all: lives until deleted; `expire` and re-saves must keep what was set. */
@RedisEntity({ keyspace: 'setting' })
export class Setting {
  @Id() id!: string;
  value!: string;
}

/** A constructor with arguments: fields declared with @Field() are still known. */
@RedisEntity({ keyspace: 'code', ttl: 30 })
export class VerificationCode {
  @Id() id: string;
  @Field() code: string;
  @Indexed() email: Indexed<string>;

  constructor(id: string, code: string, email: string) {
    if (!id) throw new Error('id required');
    this.id = id;
    this.code = code;
    this.email = email;
  }
}

/** Creates an instance with the given properties without calling a constructor. */
export function make<T extends object>(cls: new (...a: never[]) => T, props: Partial<T>): T {
  return Object.assign(Object.create(cls.prototype as object) as T, props);
}

/** A TTL and no @Indexed: the entity whose save is a single RESTORE. */
@RedisEntity({ keyspace: 'otp', ttl: 30 })
export class VerificationCodeWithoutIndex {
  @Id() id!: string;
  code!: string;
}
