import { EventEmitter } from 'node:events';
import type { RedisClientOptions, RedisClusterOptions } from 'redis';
import { connectionOptions } from './redis';

export interface ClusterConnectionOptions {
  /** REDIS_URL's seed nodes: any of the cluster's nodes; the rest are discovered from them. */
  urls: readonly string[];
  tlsRejectUnauthorized: boolean;
  connectTimeoutMs?: number;
  /** A one-shot connection (the CLI): no reconnects, so the first failure is final. */
  reconnect?: boolean;
  pingIntervalMs?: number;
}

/**
 * After a node's connection drops, the slot map is refreshed this soon (node-redis waits 5 s by
 * default). A master that died is replaced by its replica within the cluster's node timeout; until
 * the map is refreshed, commands for its slots keep going to the dead address and are refused.
 */
export const TOPOLOGY_REFRESH_AFTER_MS = 500;

/**
 * A node that went away is tried again this often. node-redis queues pipelines and transactions
 * on a reconnecting connection whatever `disableOfflineQueue` says (it refuses single commands
 * only), and fails them at the next attempt: with one Redis's backoff (up to 2 s) a money step
 * would wait past its deadline; at this pace it fails in a tenth of a second. The attempts also
 * drive node-redis's slot-map refresh (TOPOLOGY_REFRESH_AFTER_MS), so a replica that took over is
 * found within half a second.
 */
const NODE_RECONNECT_MAX_MS = 100;
const nodeReconnectDelay = (retries: number): number => Math.min(25 * 2 ** Math.min(retries, 2), NODE_RECONNECT_MAX_MS);

/**
 * A cluster's connections behave as a single Redis connection does (connectionOptions(): no
 * offline queue, our own deadlines, keep-alive PINGs, TLS checked unless told otherwise), but
 * reconnect sooner (NODE_RECONNECT_MAX_MS). node-redis connects to the discovered nodes with
 * `defaults` only, never with a seed's URL: the user, password and TLS of the first URL go there
 * (the settings check that every seed agrees). Reads go to masters (`useReplicas: false`): a replica may not yet have a session
 * that was written a moment ago.
 */
export function clusterOptions(options: ClusterConnectionOptions): RedisClusterOptions {
  const first = options.urls[0];
  if (first === undefined) throw new TypeError('a cluster needs at least one seed URL');
  const single = connectionOptions({ ...options, url: first });
  const perNode: Partial<RedisClientOptions> = {
    ...single,
    ...credentialsOf(first),
    socket: { ...single.socket, ...(options.reconnect === false ? {} : { reconnectStrategy: nodeReconnectDelay }) },
  };
  // Not the seed's URL: every node would connect to the seed.
  delete perNode.url;
  return {
    rootNodes: options.urls.map((url) => ({ url })),
    defaults: perNode,
    useReplicas: false,
    topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_AFTER_MS,
  };
}

function credentialsOf(url: string): { username?: string; password?: string } {
  const parsed = new URL(url);
  return {
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

interface NodeInfo {
  host: string;
  port: number;
}

/** The events a node-redis cluster emits about its connections. */
export interface ClusterEvents {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'node-error', listener: (err: Error, node: NodeInfo) => void): unknown;
  on(event: 'node-ready' | 'node-disconnect', listener: (node: NodeInfo) => void): unknown;
}

/**
 * A cluster's many connections seen as one, for watchConnection(): an error when any node's
 * connection fails (diagnosed against that node's address), ready once every failed node is back or has
 * left the topology (a dead master is dropped when its replica takes over).
 */
export function clusterAsOneConnection(cluster: ClusterEvents, seedUrl: string): EventEmitter {
  const scheme = seedUrl.startsWith('rediss://') ? 'rediss:' : 'redis:';
  const one = new EventEmitter();
  const down = new Set<string>();
  let connected = false;
  const healed = () => {
    if (connected && down.size === 0) one.emit('ready');
  };
  cluster.on('error', (err) => one.emit('error', err));
  cluster.on('connect', () => {
    connected = true;
    healed();
  });
  cluster.on('node-error', (err, node) => {
    down.add(`${node.host}:${node.port}`);
    one.emit(
      'error',
      Object.assign(new Error(err.message), {
        code: (err as NodeJS.ErrnoException).code,
        redisUrl: `${scheme}//${node.host}:${node.port}`,
      }),
    );
  });
  for (const event of ['node-ready', 'node-disconnect'] as const) {
    cluster.on(event, (node) => {
      if (down.delete(`${node.host}:${node.port}`)) healed();
    });
  }
  return one;
}
