import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The OpenTelemetry SDK of the demo: a meter provider whose reader renders Prometheus text for
 * `GET /metrics`. tidykv records through `@opentelemetry/api` only (session saves by outcome,
 * commands per request, near-cache hits and misses, index prunes) and is a no-op until an app
 * installs an SDK like this one, before its first request.
 */
export class DemoMetrics {
  private readonly serializer = new PrometheusSerializer();

  private constructor(
    private readonly provider: MeterProvider,
    private readonly reader: PrometheusExporter,
  ) {}

  /** Installs the SDK as the global meter provider. Call once per process, before the app starts. */
  static install(): DemoMetrics {
    // No server of its own: the app serves the text on its own port, under /metrics.
    const reader = new PrometheusExporter({ preventServerStart: true });
    // The exporter pins its own copy of sdk-metrics; the reader interface is the same across the two.
    const provider = new MeterProvider({ readers: [reader] });
    if (!metrics.setGlobalMeterProvider(provider)) {
      throw new Error('A global OpenTelemetry meter provider is already installed; DemoMetrics.install() must run once, before anything else installs one.');
    }
    return new DemoMetrics(provider, reader);
  }

  /** Every metric as Prometheus text exposition (format 0.0.4). */
  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  /** Flushes and removes the SDK (the global provider goes back to the no-op one). */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
    metrics.disable();
  }
}
