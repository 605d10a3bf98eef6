import { startRedis } from '@tidykv/testing';
import { repositorySuite } from './support/repository-suite.js';

// The acceptance points against a private standalone redis-server.
repositorySuite('EntityRepository on a standalone server', async () => {
  const server = await startRedis({ own: true });
  return {
    kind: 'standalone',
    inspect: server.client(),
    connection: { url: server.url },
    masters: 1,
    close: () => server.close(),
  };
});
