import { Injectable, type CanActivate } from '@nestjs/common';
import { SessionAccessor } from '@tidykv/session';

/** Lets a request through when its session holds a userId (SessionAccessor outside a controller). */
@Injectable()
export class LoggedInGuard implements CanActivate {
  constructor(private readonly sessions: SessionAccessor) {}

  async canActivate(): Promise<boolean> {
    const session = await this.sessions.load();
    return session.get<string>('userId') !== undefined;
  }
}
