import { ConfigurableModuleBuilder } from '@nestjs/common';
import { REPOSITORY_MODULE_OPTIONS } from './repository.constants.js';
import type { RepositoryModuleOptions } from './repository.options.js';

/** Extra options of `RepositoryModule.forRoot` / `forRootAsync`. */
export interface RepositoryModuleExtras {
  /**
   * Make the module global, so that `forFeature` modules anywhere see the connection.
   * Default: true.
   */
  isGlobal?: boolean;
}

/** @internal The generated base of {@link RepositoryModule}. */
export const { ConfigurableModuleClass: RepositoryConfigurableModule, ASYNC_OPTIONS_TYPE, OPTIONS_TYPE } = new ConfigurableModuleBuilder<RepositoryModuleOptions>({
  optionsInjectionToken: REPOSITORY_MODULE_OPTIONS,
  moduleName: 'TidyKvRepository',
})
  .setClassMethodName('forRoot')
  .setExtras<RepositoryModuleExtras>({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal ?? true }))
  .build();

/** Options accepted by `RepositoryModule.forRoot`. */
export type RepositoryModuleForRootOptions = typeof OPTIONS_TYPE;
/** Options accepted by `RepositoryModule.forRootAsync` (`useFactory` + `inject`, `useClass`, `useExisting`). */
export type RepositoryModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
