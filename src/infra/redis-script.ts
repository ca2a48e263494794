import { createHash } from 'node:crypto';
import { withDeadline } from './deadline';
import type { RedisClient } from './redis';

/**
 * A Lua script run by its SHA1: one round trip, with EVAL only the first time a Redis sees it
 * (or after SCRIPT FLUSH / a restart).
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    return withDeadline(this.send(client, keys, args.map(String)), 'redis script');
  }

  private async send(client: RedisClient, keys: string[], argv: string[]): Promise<unknown> {
    try {
      return await client.sendCommand(['EVALSHA', this.sha, String(keys.length), ...keys, ...argv]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.sendCommand(['EVAL', this.source, String(keys.length), ...keys, ...argv]);
    }
  }
}
