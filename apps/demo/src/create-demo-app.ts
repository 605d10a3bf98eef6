import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule, type AppModuleConfig } from './app.module.js';
import type { DemoPlatform } from './demo.config.js';

/** Options of {@link createDemoApp} beyond the module's config. */
export interface CreateDemoAppOptions {
  /** `PLATFORM`. Default: `express`. */
  platform?: DemoPlatform;
  /** Nest's logger setting; tests pass `false`. Default: Nest's console logger. */
  logger?: LoggerService | LogLevel[] | false;
}

/**
 * The demo app on Express (Nest's default adapter) or Fastify: the same module, controllers and
 * filter on both, which is the point of the `PLATFORM` switch.
 */
export async function createDemoApp(config: AppModuleConfig, options: CreateDemoAppOptions = {}): Promise<INestApplication> {
  const module = AppModule.register(config);
  const nestOptions = { abortOnError: false, ...(options.logger === undefined ? {} : { logger: options.logger }) };
  if (options.platform === 'fastify') {
    // Loaded only when asked for, so an Express deployment never loads Fastify.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(module, new FastifyAdapter(), nestOptions);
  }
  return NestFactory.create(module, nestOptions);
}
