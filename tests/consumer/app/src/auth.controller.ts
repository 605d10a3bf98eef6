import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';

@Controller('auth')
export class AuthController {
  @Post('login')
  login(@Session() session: HttpSession, @Body() body: { userId: string }): { userId: string } {
    session.regenerate();
    session.set('userId', body.userId);
    return { userId: body.userId };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Session() session: HttpSession): Promise<void> {
    await session.invalidate();
  }
}
