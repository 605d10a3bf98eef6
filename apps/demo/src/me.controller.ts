import { Controller, Get, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';

function requireUser(session: HttpSession): string {
  const userId = session.get<string>('userId');
  if (userId === undefined) throw new UnauthorizedException('Log in first: POST /auth/login.');
  return userId;
}

/** The logged-in user's own data, read from the session. */
@Controller('me')
export class MeController {
  @Get()
  me(@Session() session: HttpSession): { userId: string } {
    return { userId: requireUser(session) };
  }

  /** Increments a counter kept in the session. */
  @Post('visits')
  @HttpCode(200)
  visits(@Session() session: HttpSession): { visits: number } {
    requireUser(session);
    const visits = (session.get<number>('visits') ?? 0) + 1;
    session.set('visits', visits);
    return { visits };
  }
}
