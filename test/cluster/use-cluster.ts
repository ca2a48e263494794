/*
 * Runs before every test file of the "cluster" project: the harness (test/helpers/harness.ts)
 * then builds the app with REDIS_CLUSTER=true against the cluster global-setup.ts started. Each
 * test file has its own copy of process.env, so the unit project's files never see this.
 */
const seeds = process.env.PERF_BFF_TEST_CLUSTER_SEEDS;
if (seeds === undefined) throw new Error('the cluster project needs test/cluster/global-setup.ts to have started a cluster');
process.env.TEST_REDIS_CLUSTER_URLS = seeds;
