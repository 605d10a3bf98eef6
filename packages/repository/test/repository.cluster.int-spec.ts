import { startRedisCluster } from '@tidykv/testing';
import { repositorySuite } from './support/repository-suite.js';

// The same acceptance points against a local 3-master Cluster.
repositorySuite('EntityRepository on a 3-master Cluster', async () => {
  const cluster = await startRedisCluster({ masters: 3 });
  const inspect = cluster.client();
  await new Promise<void>((resolve) => (inspect.status === 'ready' ? resolve() : inspect.once('ready', () => resolve())));
  return {
    kind: 'cluster',
    inspect,
    connection: { cluster: { nodes: cluster.seeds } },
    masters: 3,
    close: () => cluster.close(),
  };
});
