import type { AddressInfo } from 'node:net';

/** `http://127.0.0.1:<port>` of a listening Nest app (or any object with a Node HTTP server). */
export function appUrl(app: { getHttpServer(): unknown }): string {
  const address = (app.getHttpServer() as { address(): AddressInfo | string | null }).address();
  if (address === null || typeof address === 'string') throw new Error('The app is not listening on a TCP port: call app.listen(0, "127.0.0.1") first.');
  return `http://127.0.0.1:${address.port}`;
}
