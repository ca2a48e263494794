import { createCluster } from 'redis';
import { watchConnection } from '../infra/redis';
import { clusterAsOneConnection, clusterOptions } from '../infra/redis-cluster';
import type { ClusterConnectionOptions } from '../infra/redis-cluster';
import type { Logger } from '../infra/logger';
import { PRICE_SCRIPTS } from './price-store';
import { ADMISSION_SCRIPTS } from './redis-scripts';

/**
 * The stores' client on a Redis Cluster (REDIS_CLUSTER=true): the same scripts as on one Redis
 * (redis-client.ts), each sent to the master of the slot its keys share (keys.ts), and the same
 * connection behaviour on every node.
 */
export function createClusterStoreClient(options: ClusterConnectionOptions, logger: Logger) {
  const cluster = createCluster({ ...clusterOptions(options), scripts: { ...ADMISSION_SCRIPTS, ...PRICE_SCRIPTS } });
  const seed = options.urls[0] ?? '';
  watchConnection(clusterAsOneConnection(cluster, seed), logger, { url: seed });
  return cluster;
}

export type RedisClusterClient = ReturnType<typeof createClusterStoreClient>;

/** Delay between attempts while none of the seed nodes can be reached. */
const RECONNECT_EVERY_MS = 1000;

/**
 * Connects, and keeps trying while no seed node answers: unlike one Redis's client, a cluster
 * client that could not discover the cluster stays closed. `firstAttempt` settles when the first
 * attempt has, connected or not (a start-up does not wait on a cluster that is away); `stop()`
 * ends the attempts (shutdown). The failures themselves are logged by the connection watcher.
 */
export function keepConnecting(cluster: RedisClusterClient): { firstAttempt: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const firstAttempt = new Promise<void>((attempted) => {
    const attempt = () => {
      if (stopped) return;
      cluster.connect().then(
        () => attempted(),
        () => {
          attempted();
          timer = setTimeout(attempt, RECONNECT_EVERY_MS).unref();
        },
      );
    };
    attempt();
  });
  return {
    firstAttempt,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
