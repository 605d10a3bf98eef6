import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, HttpAgent } from '../src/index.js';

// A plain Node server whose routes answer what each test needs: no Nest, no Redis. Every request
// it saw is kept, with the headers it came with.
const seen: IncomingMessage[] = [];
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/login': (_req, res) => res.setHeader('set-cookie', 'sid=abc.def; Path=/; HttpOnly').end('{"ok":true}'),
  '/relogin': (_req, res) => res.setHeader('set-cookie', 'sid=ghi.jkl; Path=/; HttpOnly').end(),
  '/logout': (_req, res) => res.setHeader('set-cookie', 'sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT').end(),
  '/secure': (_req, res) => res.setHeader('set-cookie', 'sid=s3cure; Path=/; Secure').end(),
  '/scoped/set': (_req, res) => res.setHeader('set-cookie', 'area=1; Path=/scoped').end(),
  '/header': (_req, res) => res.setHeader('x-session', 'tok-2').end(),
  '/header/clear': (_req, res) => res.setHeader('x-session', '').end(),
  '/teapot': (_req, res) => res.writeHead(418, { 'content-type': 'application/json' }).end('{"broken":'),
  '/moved': (_req, res) => res.writeHead(302, { location: '/login' }).end(),
  '/echo': (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => res.setHeader('content-type', 'application/json').end(JSON.stringify({ body, type: req.headers['content-type'] ?? null })));
  },
};

describe('HttpAgent, the shared browser-like test client', () => {
  let server: Server;
  let base: string;
  const last = (): IncomingMessage => seen[seen.length - 1];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (route) route(req, res);
      else res.end('plain text');
    });
    // Far longer than the test waits: a kept-alive socket would stay open for the whole of it.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('keeps the cookie an answer sets and sends it back', async () => {
    const a = new HttpAgent(base);
    await a.get('/login');
    expect(a.cookie).toBe('abc.def');
    await a.get('/anything');
    expect(last().headers.cookie).toBe('sid=abc.def');
  });

  it('replaces the cookie when a later answer sets it again', async () => {
    const a = new HttpAgent(base);
    await a.get('/login');
    await a.get('/relogin');
    expect(a.cookie).toBe('ghi.jkl');
  });

  it('drops the cookie an answer expires, and sends no Cookie header afterwards', async () => {
    const a = new HttpAgent(base);
    await a.get('/login');
    await a.get('/logout');
    expect(a.cookie).toBeUndefined();
    await a.get('/anything');
    expect(last().headers.cookie).toBeUndefined();
  });

  it('sends a cookie set by hand exactly as written, semicolons included', async () => {
    const a = new HttpAgent(base);
    a.cookie = 'valid; sid=junk; sid=*';
    await a.get('/anything');
    expect(last().headers.cookie).toBe('sid=valid; sid=junk; sid=*');
  });

  it('reads and writes the whole Cookie header with cookieHeader', async () => {
    const a = new HttpAgent(base);
    a.cookieHeader = 'connect.sid=s%3Aold; other=1';
    await a.get('/login');
    expect(a.cookieHeader).toBe('connect.sid=s%3Aold; other=1; sid=abc.def');
  });

  it('a clone holds the same session and changes independently from then on', async () => {
    const a = new HttpAgent(base);
    await a.get('/login');
    const b = a.clone();
    expect(b.cookie).toBe('abc.def');
    await b.get('/relogin');
    expect(b.cookie).toBe('ghi.jkl');
    expect(a.cookie).toBe('abc.def');
  });

  it('sends a Secure cookie back only behind a TLS proxy (x-forwarded-proto: https)', async () => {
    const a = new HttpAgent(base);
    await a.get('/secure');
    await a.get('/anything');
    expect(last().headers.cookie).toBeUndefined();
    a.extraHeaders['x-forwarded-proto'] = 'https';
    await a.get('/anything');
    expect(last().headers.cookie).toBe('sid=s3cure');
  });

  it('sends a cookie with a Path only to that path', async () => {
    const a = new HttpAgent(base);
    await a.get('/scoped/set');
    await a.get('/elsewhere');
    expect(last().headers.cookie).toBeUndefined();
    await a.get('/scoped/inside');
    expect(last().headers.cookie).toBe('area=1');
  });

  it('carries a header transport: sends the header, takes the answer\'s, and an empty one clears it', async () => {
    const a = new HttpAgent(base, { headerName: 'x-session' });
    a.header = 'tok-1';
    await a.get('/header');
    expect(last().headers['x-session']).toBe('tok-1');
    expect(a.header).toBe('tok-2');
    await a.get('/header/clear');
    expect(a.header).toBeUndefined();
  });

  it('sends a body as JSON, and none when not given', async () => {
    const a = new HttpAgent(base);
    expect((await a.post('/echo', { n: 1 })).body).toEqual({ body: '{"n":1}', type: 'application/json' });
    expect((await a.post('/echo')).body).toEqual({ body: '', type: null });
  });

  it('answers a 4xx with malformed JSON as a reply to look at, not an exception', async () => {
    const r = await new HttpAgent(base).get('/teapot');
    expect(r).toMatchObject({ status: 418, text: '{"broken":', body: '{"broken":' });
  });

  it('does not follow redirects', async () => {
    const r = await new HttpAgent(base).get('/moved');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/login');
  });

  it('keeps no socket alive: the server holds no connection once the reply is in', async () => {
    await new HttpAgent(base).get('/anything');
    expect(last().headers.connection).toBe('close');
    const open = (): Promise<number> => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    // The server's side of the socket closes just after the reply: polled, with room for a loaded machine.
    await eventually(async () => (await open()) === 0, 3_000, 'the server still holds a connection of the agent');
  });
});
