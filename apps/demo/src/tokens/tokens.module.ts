import { Module, type DynamicModule } from '@nestjs/common';
import { RepositoryModule } from '@tidykv/repository';
import { RefreshFamily } from './refresh-family.entity.js';
import { RefreshToken } from './refresh-token.entity.js';
import { REFRESH_TTL_SECONDS, RefreshTokensService } from './refresh-tokens.service.js';
import { TokensController } from './tokens.controller.js';

/** Options of {@link TokensModule.register}. */
export interface TokensModuleOptions {
  /** Lifetime of each refresh token, seconds. Default: 604800 (7 days). */
  refreshTtlSeconds?: number;
}

/**
 * Refresh tokens on @tidykv/repository: the `/tokens` routes and {@link RefreshTokensService}
 * (used by `/auth/login` and `/auth/refresh`). Needs SessionModule (the routes are the logged-in
 * user's own).
 */
@Module({})
export class TokensModule {
  /** TokensModule with its own `RepositoryModule.forRoot` on `redisUrl` (keys under `demo:`). */
  static register(redisUrl: string, options: TokensModuleOptions = {}): DynamicModule {
    return {
      module: TokensModule,
      imports: [RepositoryModule.forRoot({ connection: { url: redisUrl }, keyPrefix: 'demo:' }), RepositoryModule.forFeature([RefreshToken, RefreshFamily])],
      controllers: [TokensController],
      providers: [RefreshTokensService, { provide: REFRESH_TTL_SECONDS, useValue: options.refreshTtlSeconds ?? 604_800 }],
      exports: [RefreshTokensService],
    };
  }
}
