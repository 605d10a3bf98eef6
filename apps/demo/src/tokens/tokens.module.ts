import { Module, type DynamicModule } from '@nestjs/common';
import { RepositoryModule } from '@tidykv/repository';
import { RefreshToken } from './refresh-token.entity.js';
import { TokensController } from './tokens.controller.js';

/**
 * Refresh tokens on @tidykv/repository. Import `TokensModule.register(redisUrl)` when nothing
 * else in the app sets up `RepositoryModule.forRoot`; import `TokensModule` itself when
 * something does (it only needs the global repository connection).
 */
@Module({
  imports: [RepositoryModule.forFeature([RefreshToken])],
  controllers: [TokensController],
})
export class TokensModule {
  /** TokensModule plus its own `RepositoryModule.forRoot` on `redisUrl` (keys under `demo:`). */
  static register(redisUrl: string): DynamicModule {
    return {
      module: TokensModule,
      imports: [RepositoryModule.forRoot({ connection: { url: redisUrl }, keyPrefix: 'demo:' })],
    };
  }
}
