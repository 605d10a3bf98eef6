import { Module } from '@nestjs/common';
import { RepositoryModule } from '@tidykv/repository';
import { RefreshToken } from './refresh-token.entity.js';
import { TokensController } from './tokens.controller.js';

@Module({
  imports: [RepositoryModule.forFeature([RefreshToken])],
  controllers: [TokensController],
})
export class TokensModule {}
