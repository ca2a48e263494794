import { MultiErrorReply } from 'redis';
import type { Logger } from '../infra/logger';
import type { RedisClusterClient } from './redis-cluster-client';

/** How long a money step waits for its shard's replica to confirm it (the shard may have none for a while after a failover). */
export const REPLICA_ACK_TIMEOUT_MS = 50;

type ClusterMulti = ReturnType<RedisClusterClient['multi']>;

/**
 * Runs one money step (a Lua script) on a cluster, followed in the same pipeline, on the same
 * connection, by `WAIT 1 <ms>`: the reply comes back once the shard's replica has the write too.
 * Redis replicates asynchronously; without this, a master that dies right after answering could
 * take an acknowledged reservation or settlement with it, and the replica that takes over would
 * charge a call twice or not at all. With no replica (just after a failover) the step still counts,
 * after the wait: correctness then rests on the master alone, as on a single Redis.
 *
 * Scripts in a pipeline go as EVAL (node-redis sends EVALSHA only for single commands): the text
 * travels each time, and a master that just took over, whose script cache is empty, never answers
 * NOSCRIPT in the middle of a step.
 */
export class ReplicatedSteps {
  private waitSupported = true;

  constructor(
    private readonly redis: RedisClusterClient,
    private readonly logger?: Logger,
  ) {}

  async run<T>(routingKey: string, step: (multi: ClusterMulti) => void): Promise<T> {
    const multi = this.redis.multi(routingKey);
    step(multi);
    if (this.waitSupported) multi.WAIT(1, REPLICA_ACK_TIMEOUT_MS);
    try {
      const [reply] = await multi.execAsPipeline();
      return reply as T;
    } catch (err) {
      if (!(err instanceof MultiErrorReply)) throw err;
      const [first] = err.errorIndexes;
      if (first === 0) {
        const reason = err.replies[0] ?? err;
        // A pipeline is not redirected: a stale slot map is refreshed by one redirected command, for the next step.
        if (/^(MOVED|ASK) /.test(reason.message)) this.redis.exists(routingKey).catch(() => undefined);
        throw reason;
      }
      // Only WAIT failed: a Redis that does not offer it (some managed services). The step itself stands.
      this.waitSupported = false;
      this.logger?.warn('this Redis Cluster refuses WAIT: money steps are no longer confirmed on a replica before they count');
      return err.replies[0] as T;
    }
  }
}
