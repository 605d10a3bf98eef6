import { metrics, type Counter, type Histogram } from '@opentelemetry/api';

/**
 * The instruments tidykv records through `@opentelemetry/api`. They are no-ops until the app
 * installs an OpenTelemetry SDK with a meter provider, so an app that does not collect metrics
 * pays a function call per event and nothing else.
 *
 * | instrument | kind | attributes |
 * |---|---|---|
 * | `tidykv.session.saves` | counter | `outcome`: `saved`, `created`, `regenerated`, `dropped`, `unknown`, `unavailable`, `failed` |
 * | `tidykv.session.commands_per_request` | histogram | none: Redis operations one HTTP request made |
 * | `tidykv.session.near_cache` | counter | `result`: `hit` or `miss` |
 * | `tidykv.index.prunes` | counter | `index`: `principal` or `entity`: members dropped because their record was gone |
 * | `tidykv.repository.operations` | counter | `operation`, `outcome`: `ok`, `unknown`, `unavailable`, `failed` |
 */
export interface TidyKvMetrics {
  readonly sessionSaves: Counter;
  readonly commandsPerRequest: Histogram;
  readonly nearCache: Counter;
  readonly indexPrunes: Counter;
  readonly repositoryOperations: Counter;
}

let instruments: TidyKvMetrics | undefined;

/**
 * tidykv's instruments, created on first use from the global meter provider (so an SDK installed
 * before the first request is picked up).
 */
export function tidykvMetrics(): TidyKvMetrics {
  if (instruments) return instruments;
  const meter = metrics.getMeter('tidykv');
  instruments = {
    sessionSaves: meter.createCounter('tidykv.session.saves', { description: 'End-of-request session saves by outcome.' }),
    commandsPerRequest: meter.createHistogram('tidykv.session.commands_per_request', {
      description: 'Redis operations (round trips) one HTTP request made for its session.',
      advice: { explicitBucketBoundaries: [0, 1, 2, 3, 4, 6, 10] },
    }),
    nearCache: meter.createCounter('tidykv.session.near_cache', { description: 'Near-cache lookups by result.' }),
    indexPrunes: meter.createCounter('tidykv.index.prunes', { description: 'Index members dropped because the record they pointed at was gone.' }),
    repositoryOperations: meter.createCounter('tidykv.repository.operations', { description: 'Repository operations by outcome.' }),
  };
  return instruments;
}

/** Forgets the instruments, so the next {@link tidykvMetrics} call uses the current meter provider (tests). */
export function resetTidyKvMetrics(): void {
  instruments = undefined;
}
