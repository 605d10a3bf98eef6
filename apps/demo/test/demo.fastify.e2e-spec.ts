import { describeDemoRoutes } from './support/demo-routes.behaviour.js';

// The same suite on @nestjs/platform-fastify (PLATFORM=fastify).
describeDemoRoutes('fastify');
