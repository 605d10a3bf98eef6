import { Controller, Get, Header, Inject } from '@nestjs/common';
import { DemoMetrics } from './demo-metrics.js';

/** `GET /metrics`: tidykv's OpenTelemetry metrics for a Prometheus scrape. Mounted only when metrics are installed. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(DemoMetrics) private readonly metrics: DemoMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('cache-control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
