/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['@swc/jest'] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/process/'],
    },
    {
      displayName: 'process',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/process/**/*.test.ts'],
      // Builds dist/ when it is older than src/: these tests run `node dist/server.js`.
      globalSetup: '<rootDir>/test/process/global-setup.ts',
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
  testTimeout: 30000,
};
