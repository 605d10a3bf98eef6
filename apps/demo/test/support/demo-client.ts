import { request as httpRequest } from 'node:http';

/** One HTTP answer as the tests look at it. */
export interface Reply<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  setCookie: string[];
}

/**
 * A client with one cookie jar, like one browser or one curl with `-b jar -c jar`. No keep-alive,
 * so closing the app leaves no socket behind.
 */
export class DemoClient {
  cookie: string | undefined;

  constructor(private readonly base: string) {}

  /** A client that holds the same cookie (another tab of the same browser). */
  clone(): DemoClient {
    const c = new DemoClient(this.base);
    c.cookie = this.cookie;
    return c;
  }

  send<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    return new Promise((resolve, reject) => {
      const req = httpRequest(this.base + path, { method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const setCookie = res.headers['set-cookie'] ?? [];
          for (const c of setCookie) {
            const pair = c.split(';')[0];
            this.cookie = pair.endsWith('=') ? undefined : pair;
          }
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text) parsed = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text, headers: res.headers, setCookie });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.send<T>('GET', path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.send<T>('POST', path, body);
  }

  delete<T = unknown>(path: string): Promise<Reply<T>> {
    return this.send<T>('DELETE', path);
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
