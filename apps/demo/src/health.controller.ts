import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { TidyKvHealthIndicator } from '@tidykv/session/terminus';
// The indicator finds each tidykv module's connections through that package's /terminus subpath:
// this app uses both modules, so it loads both (the class is the same, re-exported from core).
import '@tidykv/repository/terminus';

/**
 * Readiness: 200 `{"status":"ok"}` when every tidykv connection (session, repository) answers PING
 * within a second, 503 `{"status":"error"}` naming the one that does not.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tidykv: TidyKvHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.tidykv.pingCheck('redis', { timeoutMs: 1000 })]);
  }
}
