import { ConfigurableModuleBuilder } from '@nestjs/common';
import { SESSION_MODULE_OPTIONS } from './session.constants.js';
import type { SessionModuleOptions } from './session.options.js';

/** @internal The generated `forRoot`/`forRootAsync` of {@link SessionModule}. */
export const { ConfigurableModuleClass: SessionConfigurableModule, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<SessionModuleOptions>({ optionsInjectionToken: SESSION_MODULE_OPTIONS })
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
