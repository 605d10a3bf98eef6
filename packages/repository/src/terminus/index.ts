// `@tidykv/repository/terminus`: the @nestjs/terminus integration, re-exported from @tidykv/core
// so that apps need no direct @tidykv/core dependency. Importing it registers RepositoryModule's
// connection with TidyKvHealthIndicator. A subpath because @nestjs/terminus is an optional peer.
import { registerTidyKvConnectionSource } from '@tidykv/core/terminus';
import { RepositoryContext } from '../repository-context.service.js';
import { REPOSITORY_CONTEXT } from '../repository.constants.js';

registerTidyKvConnectionSource({
  name: 'repository',
  token: REPOSITORY_CONTEXT,
  connections: (provider) => (provider instanceof RepositoryContext ? [{ label: 'repository', connection: provider.connection }] : []),
});

export { TidyKvHealthIndicator, DEFAULT_TIDYKV_PING_CHECK_OPTIONS } from '@tidykv/core/terminus';
export type { TidyKvPingCheckOptions, TidyKvConnectionHealth } from '@tidykv/core/terminus';
