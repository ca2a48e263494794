/** @type {import('jest').Config} */

/**
 * The chat page's modules (public/*.js) are browser ES modules. For the "page" tests swc parses
 * them as ECMAScript, and the tests as TypeScript, and turns both into CommonJS for Jest. The
 * options are complete here (swcrc: false): .swcrc would parse every file as TypeScript.
 * @param {'typescript' | 'ecmascript'} syntax
 */
const swcFor = (syntax) => [
  '@swc/jest',
  { swcrc: false, jsc: { parser: { syntax }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
];
const pageTransform = { '^.+\\.ts$': swcFor('typescript'), '^.+\\.js$': swcFor('ecmascript') };

/**
 * openid-client and oidc-provider (and what they import) ship only ES modules. Node 20.19+ loads
 * them with require() in production, but Jest's own module loader cannot: swc turns them into
 * CommonJS for the tests.
 */
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose', 'oidc-provider'];
const transform = { '^.+\\.ts$': ['@swc/jest'], '^.+\\.js$': swcFor('ecmascript') };
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`];
const CLUSTER_TESTS = require('./test/cluster/selection.cjs');

module.exports = {
  // Once, before every run: says which of Redis and Chromium is missing instead of letting the tests time out.
  globalSetup: '<rootDir>/test/global-setup.ts',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        '<rootDir>/test/e2e/',
        '<rootDir>/test/process/',
        '<rootDir>/test/page/',
        '<rootDir>/test/cluster/',
      ],
    },
    {
      // The core, money and stream tests again, against a local 3-master Redis Cluster (REDIS_CLUSTER=true), and the failover test.
      displayName: 'cluster',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: CLUSTER_TESTS.map((file) => `<rootDir>/${file}`),
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
      setupFiles: ['<rootDir>/test/cluster/use-cluster.ts'],
    },
    {
      displayName: 'process',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/process/**/*.test.ts'],
      // Builds dist/ when it is older than src/: these tests run `node dist/server.js`.
      globalSetup: '<rootDir>/test/process/global-setup.ts',
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
    {
      // The page's pure modules (wording, the client and its SSE reader), in Node without a browser.
      displayName: 'page',
      testEnvironment: 'node',
      transform: pageTransform,
      testMatch: ['<rootDir>/test/page/**/*.test.ts'],
    },
  ],
  // The suite mostly waits on sockets, child processes and Chromium: two workers keep the two cores busy without crowding them.
  maxWorkers: 2,
  testTimeout: 30000,
};
