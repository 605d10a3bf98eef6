import { Module, type DynamicModule } from '@nestjs/common';
import type { DemoConfig } from './demo.config.js';
import { HealthController } from './health.controller.js';

/** The demo's root module, built from its config (the Redis URL is only known at start). */
@Module({})
export class AppModule {
  static register(config: DemoConfig & { redisUrl: string }): DynamicModule {
    void config;
    return {
      module: AppModule,
      controllers: [HealthController],
    };
  }
}
