import { Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { TidyKvConfigError } from '@tidykv/core';
import { EntityRepository } from './entity.repository.js';
import { getRepositoryToken } from './inject-repository.decorator.js';
import type { EntityClass } from './entity.types.js';
import { getEntityMetadata } from './internal/entity-metadata.js';
import { REPOSITORY_CONTEXT, REPOSITORY_MODULE_OPTIONS } from './repository.constants.js';
import { RepositoryContext, type RepositoryClass } from './repository-context.service.js';
import { RepositoryConfigurableModule } from './repository.module-definition.js';
import type { RepositoryModuleOptions } from './repository.options.js';

/** One `forFeature` entry: an entity class, or an entity with a custom repository class. */
export type RepositoryFeature =
  | EntityClass
  | {
      /** The `@RedisEntity` class. */
      entity: EntityClass;
      /** A subclass of {@link EntityRepository} (keeping its constructor); injectable by its class too. */
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own entity type
      repository: RepositoryClass<any>;
    };

// Holds the shutdown hook: the context is created by a factory, so it cannot be the hook itself.
class RepositoryLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REPOSITORY_CONTEXT) private readonly context: RepositoryContext) {}

  async onApplicationShutdown(): Promise<void> {
    await this.context.close();
  }
}

/** @internal Module returned by `forFeature`; it needs the global context from `forRoot`. */
@Module({})
class RepositoryFeatureModule {}

/**
 * Key-value entities over plain Redis. Import `RepositoryModule.forRoot({ connection })` (or
 * `forRootAsync`) once, then `RepositoryModule.forFeature([Entity])` in each feature module and
 * inject with `@InjectRepository(Entity)`. The connection is closed on application shutdown
 * when tidykv opened it.
 */
@Module({
  providers: [
    {
      provide: REPOSITORY_CONTEXT,
      inject: [REPOSITORY_MODULE_OPTIONS],
      useFactory: (options: RepositoryModuleOptions) => RepositoryContext.create(options, { logger: new Logger('TidyKvRepository') }),
    },
    RepositoryLifecycle,
  ],
  exports: [REPOSITORY_CONTEXT],
})
export class RepositoryModule extends RepositoryConfigurableModule {
  /**
   * Provides a repository for each entity, under {@link getRepositoryToken}(Entity), and custom
   * repository classes also under their own class. Entity metadata is checked here, at start-up.
   */
  static forFeature(features: readonly RepositoryFeature[]): DynamicModule {
    if (!Array.isArray(features)) {
      throw TidyKvConfigError.invalid('RepositoryModule.forFeature', features, 'an array of entity classes or { entity, repository }');
    }
    const providers: Provider[] = [];
    const exported: (symbol | RepositoryClass<object>)[] = [];
    features.forEach((f: RepositoryFeature | undefined, i) => {
      const entity: EntityClass | undefined = typeof f === 'function' ? f : f?.entity;
      const repository: RepositoryClass<object> | undefined = typeof f === 'function' ? undefined : f?.repository;
      if (typeof entity !== 'function') {
        throw TidyKvConfigError.invalid(
          `RepositoryModule.forFeature[${i}]`,
          f,
          'an entity class or { entity, repository }',
          'An undefined entity usually means a circular import; move the entity class to its own file.',
        );
      }
      getEntityMetadata(entity);
      if (repository !== undefined && !(repository.prototype instanceof EntityRepository)) {
        throw TidyKvConfigError.invalid(`RepositoryModule.forFeature[${i}].repository`, repository, 'a class extending EntityRepository');
      }
      const token = getRepositoryToken(entity);
      providers.push({
        provide: token,
        inject: [REPOSITORY_CONTEXT],
        useFactory: (context: RepositoryContext) => context.repository(entity, repository),
      });
      exported.push(token);
      if (repository) {
        providers.push({ provide: repository, useExisting: token });
        exported.push(repository);
      }
    });
    return { module: RepositoryFeatureModule, providers, exports: exported };
  }
}
