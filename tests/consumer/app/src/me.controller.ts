import { Controller, Get, UseGuards } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';
import { LoggedInGuard } from './logged-in.guard.js';

@Controller('me')
@UseGuards(LoggedInGuard)
export class MeController {
  @Get()
  me(@Session() session: HttpSession): { userId: string | undefined } {
    return { userId: session.get<string>('userId') };
  }
}
