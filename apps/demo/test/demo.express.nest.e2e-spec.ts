import { describeDemoRoutes } from './support/demo-routes.behaviour.js';

// On Express, Nest's default platform; also run against Nest 11 by the second test pass.
describeDemoRoutes('express');
