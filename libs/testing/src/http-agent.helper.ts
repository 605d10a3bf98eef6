import type { IncomingHttpHeaders } from 'node:http';
import { Cookie, CookieAccessInfo } from 'cookiejar';
import supertest from 'supertest';

/** One HTTP answer as the tests look at it. */
export interface HttpReply<T = unknown> {
  readonly status: number;
  /** The body parsed as JSON when it is JSON, else the text; `undefined` for an empty body. */
  readonly body: T;
  /** The body as received, '' when empty. */
  readonly text: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw Set-Cookie headers of this answer, [] when none. */
  readonly setCookie: string[];
}

/** How an {@link HttpAgent} carries its session. */
export interface HttpAgentOptions {
  /** The session cookie that {@link HttpAgent.cookie} reads and writes. Default: `'sid'`. */
  readonly cookieName?: string;
  /**
   * The header of a header transport (e.g. `'x-session'`): sent with the value of
   * {@link HttpAgent.header}, which every answer carrying that header replaces.
   */
  readonly headerName?: string;
}

type Jar = InstanceType<typeof supertest.agent>['jar'];

/**
 * A browser-like HTTP client for tests: one cookie jar (supertest's agent, i.e. superagent's
 * cookiejar: Set-Cookie is stored, replaced and expired as a browser would, and sent back to the
 * paths it belongs to), or one header for a header transport.
 *
 * What it does differently from a bare `supertest.agent(url)`, and why:
 * - no keep-alive (`Connection: close`, no pooled agent): Node 20's global agent keeps sockets
 *   open, which keeps `app.close()` waiting and leaves handles open when Jest ends;
 * - redirects are not followed: tests look at the 3xx itself;
 * - a reply never throws for a 4xx/5xx, and its body is read as text and parsed here, so a
 *   malformed JSON answer is a reply to look at, not an exception;
 * - a request sent with `x-forwarded-proto: https` (a client behind a TLS-terminating proxy) is
 *   an HTTPS request for the jar, so Secure cookies go back as a browser would send them;
 * - {@link cookie} can be set to any text, hostile values included (`a; sid=b`): it is sent
 *   exactly as written, which no real jar would do but attack tests need.
 */
export class HttpAgent {
  /** Headers sent with every request (e.g. a proxy's X-Forwarded-Proto). */
  readonly extraHeaders: Record<string, string> = {};
  /** The session header of a header transport (`options.headerName`); `undefined` when none is held. */
  header: string | undefined;
  readonly #agent: InstanceType<typeof supertest.agent>;
  readonly #host: string;

  /**
   * @param base the server's origin, e.g. `http://127.0.0.1:3000` (see `appUrl`).
   */
  constructor(
    readonly base: string,
    readonly options: HttpAgentOptions = {},
  ) {
    this.#agent = supertest.agent(base);
    this.#host = new URL(base).hostname;
  }

  /** The name of the session cookie {@link cookie} stands for. */
  get cookieName(): string {
    return this.options.cookieName ?? 'sid';
  }

  /**
   * The session cookie's value as the jar holds it (percent-decoded, as a cookie parser reads
   * it); `undefined` when the jar holds none. Setting it replaces that cookie (any text, sent
   * as written); `undefined` removes it.
   */
  get cookie(): string | undefined {
    const value = this.#jar.getCookie(this.cookieName, CookieAccessInfo.All)?.value;
    if (value === undefined || value === null || value === '') return undefined;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }

  set cookie(value: string | undefined) {
    this.setCookieValue(this.cookieName, value);
  }

  /** Every cookie of the jar by name, raw values as received (or as set by hand). */
  get cookies(): ReadonlyMap<string, string> {
    return new Map(this.#jar.getCookies(CookieAccessInfo.All).map((c) => [c.name, c.value]));
  }

  /**
   * The Cookie header this client sends to the root path: every cookie of the jar as
   * `name=value` pairs joined by `; ` (raw, as received); `undefined` when the jar is empty.
   * Setting it empties the jar and fills it with the pairs given, sent back as written.
   */
  get cookieHeader(): string | undefined {
    const pairs = this.#jar.getCookies(CookieAccessInfo.All).toValueString();
    return pairs === '' ? undefined : pairs;
  }

  set cookieHeader(header: string | undefined) {
    for (const c of this.#jar.getCookies(CookieAccessInfo.All)) this.setCookieValue(c.name, undefined);
    for (const pair of (header ?? '').split('; ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) this.setCookieValue(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }

  /**
   * Replaces (or, with `undefined`, removes) the cookie `name` in the jar, for the root path of
   * this host. `value` is kept raw: the jar would parse a Set-Cookie string at `;`, and a test
   * may want a value with `;` in it sent as is.
   */
  setCookieValue(name: string, value: string | undefined): void {
    // Every cookie of that name goes first, whatever its path (the jar replaces by name, path and domain).
    for (let c = this.#jar.getCookie(name, CookieAccessInfo.All); c; ) {
      this.#jar.setCookie(Object.assign(new Cookie(''), { name, value: '', path: c.path, domain: c.domain, explicit_domain: c.explicit_domain, expiration_date: 0 }));
      const next = this.#jar.getCookie(name, CookieAccessInfo.All);
      if (next === c) throw new Error(`HttpAgent: the jar kept the cookie ${name} (path ${c.path}) it was asked to drop`);
      c = next;
    }
    if (value !== undefined) this.#jar.setCookie(Object.assign(new Cookie(''), { name, value, path: '/', domain: this.#host }));
  }

  /** Sends a request, keeps what the answer sets (cookies, the session header), returns the reply. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<HttpReply<T>> {
    const verb = method.toLowerCase() as 'get';
    const req = this.#agent[verb](path);
    const url = new URL(this.base + path);
    // The jar answers for this request as a browser would, HTTPS when behind a TLS proxy.
    const secure = url.protocol === 'https:' || this.extraHeaders['x-forwarded-proto'] === 'https';
    (req as unknown as { cookies: string }).cookies = this.#jar.getCookies(new CookieAccessInfo(url.hostname, url.pathname, secure)).toValueString();
    req.set('connection', 'close').redirects(0);
    for (const [k, v] of Object.entries(this.extraHeaders)) req.set(k, v);
    if (this.options.headerName && this.header !== undefined) req.set(this.options.headerName, this.header);
    if (body !== undefined) req.set('content-type', 'application/json').send(JSON.stringify(body));
    // Every answer read as text, whatever its type; parsed below.
    req.buffer(true).parse((res, done) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(null, text));
    });
    const res = await req;
    const text = typeof res.body === 'string' ? res.body : '';
    const headers = res.headers as IncomingHttpHeaders;
    if (this.options.headerName) {
      const h = headers[this.options.headerName];
      if (typeof h === 'string') this.header = h === '' ? undefined : h;
    }
    return { status: res.status, body: parseBody(text) as T, text, headers, setCookie: headers['set-cookie'] ?? [] };
  }

  /** GET `path`. */
  get<T = unknown>(path: string): Promise<HttpReply<T>> {
    return this.request<T>('GET', path);
  }

  /** POST `path`, with `body` as JSON when given. */
  post<T = unknown>(path: string, body?: unknown): Promise<HttpReply<T>> {
    return this.request<T>('POST', path, body);
  }

  /** DELETE `path`. */
  delete<T = unknown>(path: string): Promise<HttpReply<T>> {
    return this.request<T>('DELETE', path);
  }

  /**
   * A second client holding the same session (another tab, or a concurrent request): a copy of
   * the jar, the session header and the extra headers, changed independently from then on.
   */
  clone(): this {
    const copy = new (this.constructor as new (base: string, options: HttpAgentOptions) => this)(this.base, this.options);
    // Cookie by cookie, so that each keeps its path, expiry and flags.
    for (const c of this.#jar.getCookies(CookieAccessInfo.All)) copy.#jar.setCookie(Object.assign(new Cookie(''), c));
    copy.header = this.header;
    Object.assign(copy.extraHeaders, this.extraHeaders);
    return copy;
  }

  get #jar(): Jar {
    return this.#agent.jar;
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
