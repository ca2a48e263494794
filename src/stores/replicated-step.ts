import { MultiErrorReply } from 'redis';
import type { CommandParser, RedisArgument } from 'redis';
import type { Logger } from '../infra/logger';
import type { RedisClusterClient } from './redis-cluster-client';

/** How long a money step waits for its shard's replica to confirm it (the shard may have none for a while after a failover). */
export const REPLICA_ACK_TIMEOUT_MS = 50;

/** A script as defineScript() makes it (redis-scripts.ts): its text, its SHA1, how its arguments are written, how its reply is read. */
export interface LuaStep<A extends unknown[], R> {
  SCRIPT: string;
  SHA1: string;
  parseCommand(parser: CommandParser, ...args: A): void;
  transformReply: (reply: unknown) => R;
}

/**
 * Runs one money step (a Lua script) on a cluster, followed in the same pipeline, on the same
 * connection, by `WAIT 1 <ms>`: the reply comes back once the shard's replica has the write too.
 * Redis replicates asynchronously; without this, a master that dies right after answering could
 * take an acknowledged reservation or settlement with it, and the replica that takes over would
 * charge a call twice or not at all. With no replica (just after a failover) the step still counts,
 * after the wait: correctness then rests on the master alone, as on a single Redis.
 *
 * The script goes as EVALSHA; a master whose script cache is empty (one that just took over)
 * answers NOSCRIPT without running anything, and the step is sent again as EVAL, with its WAIT.
 * (node-redis's own pipelines would send the whole text every time.)
 */
export class ReplicatedSteps {
  private waitSupported = true;

  constructor(
    private readonly redis: RedisClusterClient,
    private readonly logger?: Logger,
  ) {}

  async run<A extends unknown[], R>(routingKey: string, script: LuaStep<A, R>, ...args: A): Promise<R> {
    const written = new ScriptArguments();
    script.parseCommand(written, ...args);
    try {
      return script.transformReply(await this.pipeline(routingKey, ['EVALSHA', script.SHA1, ...written.redisArgs]));
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      return script.transformReply(await this.pipeline(routingKey, ['EVAL', script.SCRIPT, ...written.redisArgs]));
    }
  }

  private async pipeline(routingKey: string, command: RedisArgument[]): Promise<unknown> {
    const multi = this.redis.multi(routingKey).sendCommand(command, { firstKey: routingKey });
    if (this.waitSupported) multi.WAIT(1, REPLICA_ACK_TIMEOUT_MS);
    try {
      const [reply] = await multi.execAsPipeline();
      return reply;
    } catch (err) {
      if (!(err instanceof MultiErrorReply)) throw err;
      if (err.errorIndexes[0] === 0) {
        const reason = err.replies[0] ?? err;
        // A pipeline is not redirected: a stale slot map is refreshed by one redirected command, for the next step.
        if (/^(MOVED|ASK) /.test(reason.message)) this.redis.exists(routingKey).catch(() => undefined);
        throw reason;
      }
      // Only WAIT failed: a Redis that does not offer it (some managed services). The step itself stands.
      this.waitSupported = false;
      this.logger?.warn('this Redis Cluster refuses WAIT: money steps are no longer confirmed on a replica before they count');
      return err.replies[0];
    }
  }
}

/** Collects what a script's parseCommand() writes (numkeys, keys, arguments), to send it as we choose. */
class ScriptArguments implements CommandParser {
  readonly redisArgs: RedisArgument[] = [];
  readonly keys: RedisArgument[] = [];
  preserve: unknown;
  readonly commandIdentifier = { command: 'EVALSHA', subcommand: undefined };

  get firstKey(): RedisArgument | undefined {
    return this.keys[0];
  }

  push(...args: RedisArgument[]): void {
    this.redisArgs.push(...args);
  }

  pushVariadic(values: RedisArgument | RedisArgument[]): void {
    this.redisArgs.push(...[values].flat());
  }

  pushVariadicWithLength(values: RedisArgument | RedisArgument[]): void {
    const all = [values].flat();
    this.redisArgs.push(String(all.length), ...all);
  }

  pushVariadicNumber(values: number | number[]): void {
    this.redisArgs.push(...[values].flat().map(String));
  }

  pushKey(key: RedisArgument): void {
    this.keys.push(key);
    this.redisArgs.push(key);
  }

  pushKeys(keys: RedisArgument | RedisArgument[]): void {
    for (const key of [keys].flat()) this.pushKey(key);
  }

  pushKeysLength(keys: RedisArgument | RedisArgument[]): void {
    const all = [keys].flat();
    this.redisArgs.push(String(all.length));
    this.pushKeys(all);
  }
}
