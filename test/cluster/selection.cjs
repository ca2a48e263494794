/**
 * What the "cluster" project runs against a local Redis Cluster (jest.config.js), also read by
 * test/global-setup.ts: the core, money and stream tests of the unit project, in their Redis mode,
 * and the cluster's own tests (test/cluster/, failover included).
 */
module.exports = [
  'test/chat.test.ts',
  'test/auth.test.ts',
  'test/revocation.test.ts',
  'test/budget.test.ts',
  'test/stream.test.ts',
  'test/stream-cost.test.ts',
  'test/cluster/**/*.test.ts',
];
