import { Controller, Get, Post, UseGuards } from '@nestjs/common';
import { EntityRepository, InjectRepository } from '@tidykv/repository';
import { Session, type HttpSession } from '@tidykv/session';
import { randomUUID } from 'node:crypto';
import { LoggedInGuard } from '../logged-in.guard.js';
import { RefreshToken } from './refresh-token.entity.js';

@Controller('tokens')
@UseGuards(LoggedInGuard)
export class TokensController {
  constructor(@InjectRepository(RefreshToken) private readonly tokens: EntityRepository<RefreshToken>) {}

  @Post()
  async issue(@Session() session: HttpSession): Promise<RefreshToken> {
    const token = Object.assign(new RefreshToken(), { id: randomUUID(), userId: session.get<string>('userId')!, issuedAt: new Date() });
    await this.tokens.save(token);
    return token;
  }

  @Get()
  list(@Session() session: HttpSession): Promise<RefreshToken[]> {
    return this.tokens.findBy('userId', session.get<string>('userId')!);
  }
}
