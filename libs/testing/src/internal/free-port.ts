import { createServer } from 'node:net';

/**
 * Asks the kernel for a free loopback port. `redis-server --port 0` disables TCP instead of
 * choosing a port, so the fixture has to pick one itself.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
