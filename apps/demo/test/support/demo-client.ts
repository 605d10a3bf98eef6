import { HttpAgent, type HttpReply } from '@tidykv/testing';

/** One HTTP answer as the tests look at it. */
export type Reply<T = unknown> = HttpReply<T>;

/**
 * A client with one cookie jar, like one browser or one curl with `-b jar -c jar`: libs/testing's
 * {@link HttpAgent} (no keep-alive, so closing the app leaves no socket behind) plus the demo's
 * login and refresh steps. Here {@link cookie} is the whole Cookie header the client sends
 * (`sid=...`, or `connect.sid=...` for the legacy app), since the demo's tests move cookies of
 * either name between clients.
 */
export class DemoClient extends HttpAgent {
  /** The Cookie header this client sends (`name=value` pairs, as received); `undefined` when it holds none. */
  override get cookie(): string | undefined {
    return this.cookieHeader;
  }

  override set cookie(header: string | undefined) {
    this.cookieHeader = header;
  }

  /** Sends a request (the name the demo's tests use for {@link HttpAgent.request}). */
  send<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>(method, path, body);
  }

  /** Logs in as `userId`; returns the refresh token the login issued. */
  async login(userId: string): Promise<string> {
    const r = await this.post<{ userId: string; refreshToken: string }>('/auth/login', { userId });
    if (r.status !== 201) throw new Error(`login as ${userId} answered ${r.status}: ${r.text}`);
    return r.body.refreshToken;
  }

  /** POST /auth/refresh with `token`, without this client's cookie. */
  refresh(token: string): Promise<Reply<{ refreshToken: string }>> {
    return new DemoClient(this.base).post('/auth/refresh', { refreshToken: token });
  }
}
