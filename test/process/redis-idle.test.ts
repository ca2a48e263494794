import { createLogger } from '../../src/infra/logger';
import { createStoreClient } from '../../src/stores/redis-client';
import { LogCapture } from '../helpers/harness';
import { sleep, startRedis, stopEverything } from './harness';
import type { RedisProcess } from './harness';

/*
 * Hosted Redis closes idle connections (Heroku Key-Value Store after a few minutes; here, a
 * redis-server with `timeout 1`). A PING every REDIS_PING_INTERVAL_MS keeps ours from idling;
 * without it the same quiet spell ends in a dropped connection — which, when it happens anyway,
 * is a warning and not an error.
 */

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis({ args: (port) => ['--port', String(port), '--save', '', '--appendonly', 'no', '--timeout', '1'] });
});
afterAll(stopEverything);

async function idleFor(ms: number, pingIntervalMs: number): Promise<Record<string, unknown>[]> {
  const logs = new LogCapture();
  const client = createStoreClient({ url: redis.url, tlsRejectUnauthorized: true, pingIntervalMs }, createLogger('info', logs));
  await client.connect();
  await sleep(ms);
  expect(await client.ping()).toBe('PONG');
  await client.close();
  return logs.parsed();
}

test('with a PING more often than the server idles connections out, a quiet client keeps its connection', async () => {
  const logs = await idleFor(3500, 400);
  expect(logs.map((l) => l.msg)).toEqual(['redis ready']);
});

test('without it the connection is dropped: a warning (not an error), then ready again', async () => {
  const logs = await idleFor(3500, 0);
  expect(logs.some((l) => l.level === 40 && /^redis: the connection to .* was lost/.test(String(l.msg)))).toBe(true);
  expect(logs.some((l) => l.msg === 'redis ready again')).toBe(true);
  expect(logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
});
