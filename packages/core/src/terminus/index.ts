// `@tidykv/core/terminus`: the @nestjs/terminus integration. A subpath of its own because
// @nestjs/terminus is an optional peer: the main barrel of @tidykv/core never imports it.
export { TidyKvHealthIndicator, DEFAULT_TIDYKV_PING_CHECK_OPTIONS } from './tidykv-health.indicator.js';
export type { TidyKvPingCheckOptions, TidyKvConnectionHealth } from './tidykv-health.indicator.js';
export { registerTidyKvConnectionSource, tidyKvConnectionSources } from './connection-source.registry.js';
export type { TidyKvConnectionSource } from './connection-source.registry.js';
