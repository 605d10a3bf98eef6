// Jest runs in native ESM mode (NestJS 12 ships ESM only); see ../shared/TOOLCHAIN.md.
// Tests import workspace packages from source so that no build is needed between an edit and a run.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export const workspaceMapper = {
  '^@tidykv/(core|session|repository)/terminus$': '<rootDir>/packages/$1/src/terminus/index.ts',
  '^@tidykv/audit/cli$': '<rootDir>/packages/audit/src/cli/index.ts',
  '^@tidykv/(core|session|repository|audit)$': '<rootDir>/packages/$1/src/index.ts',
  '^@tidykv/testing$': '<rootDir>/libs/testing/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

/** @type {import('jest').Config} */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: workspaceMapper,
  setupFiles: ['<rootDir>/libs/testing/src/jest-setup.ts'],
  testMatch: ['<rootDir>/{packages,libs,apps}/*/{src,test}/**/*.{spec,int-spec,e2e-spec}.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/scripts/summary-reporter.cjs', { name: 'nest12' }]],
  testTimeout: 30000,
  // Tests that spawn redis-server children must stop them; this catches any that forget.
  forceExit: false,
};
