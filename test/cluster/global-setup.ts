import { startCluster } from './local-cluster';
import type { LocalCluster } from './local-cluster';

/** The "cluster" project's Redis Cluster, started once for all its test files (stopped by global-teardown.ts). */
export default async function globalSetup(): Promise<void> {
  const cluster = await startCluster();
  (globalThis as { perfBffCluster?: LocalCluster }).perfBffCluster = cluster;
  // Read by use-cluster.ts in each test file; the workers inherit this process's environment.
  process.env.PERF_BFF_TEST_CLUSTER_SEEDS = cluster.seeds;
}
