// Second pass: the Nest-facing suites again, against Nest 11 (CommonJS) installed in compat/nest11.
// @tidykv declares @nestjs/* peers as ^11 || ^12; this is what keeps the 11 half of that promise honest.
import base from './jest.config.js';

const compat = '<rootDir>/compat/nest11/node_modules';

/** @type {import('jest').Config} */
export default {
  ...base,
  displayName: 'nest11',
  reporters: ['default', ['<rootDir>/scripts/summary-reporter.cjs', { name: 'nest11' }]],
  moduleNameMapper: {
    '^@nestjs/(common|core|testing|platform-express)(/.*)?$': `${compat}/@nestjs/$1$2`,
    '^reflect-metadata$': `${compat}/reflect-metadata`,
    '^rxjs(/.*)?$': `${compat}/rxjs$1`,
    ...base.moduleNameMapper,
  },
  // Only suites that exercise Nest wiring; they opt in by their file name.
  testMatch: ['<rootDir>/{packages,apps}/*/test/**/*.nest.{int-spec,e2e-spec}.ts'],
};
