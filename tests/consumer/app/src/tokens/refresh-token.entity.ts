import { Id, Indexed, RedisEntity } from '@tidykv/repository';

// The repository README's quick-start entity: plain fields with no initialiser (`issuedAt!`) are
// what `target: ES2021` without useDefineForClassFields leaves undeclared at run time.
@RedisEntity({ keyspace: 'refresh-token', ttl: 3600 })
export class RefreshToken {
  @Id() id!: string;
  @Indexed() userId!: Indexed<string>;
  issuedAt!: Date;
}
