// npm run bench:micro — what each hot-path change saves, measured on its own: the old and the new
// way of doing one step, alternated in rounds, CPU time per operation (process.cpuUsage, which a
// busy machine disturbs far less than wall time). The session read also reports wall time: its
// gain is a Redis round trip, not CPU.
import { createHmac, randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { RedisStore } from 'connect-redis';
import { helmetFor, securityHeaders } from '../src/http/security-headers';
import { Metrics } from '../src/infra/metrics';
import { uniqueIds } from '../src/infra/unique-id';
import { STORE_DEADLINE_MS, withDeadline } from '../src/infra/deadline';
import { createLogger } from '../src/infra/logger';
import { createSessionClient, createStoreClient } from '../src/stores/redis-client';
import type { RequestHandler } from 'express';

type Op = () => unknown;
type AsyncOp = () => Promise<unknown>;

const ROUNDS = 5;

/** CPU µs per call of `op`, median over rounds of `n` calls. */
function cpuPerCall(op: Op, n: number): number {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = process.cpuUsage();
    for (let i = 0; i < n; i += 1) op();
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / n);
  }
  return median(samples);
}

async function perCallAsync(op: AsyncOp, n: number): Promise<{ cpu: number; wall: number }> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i += 1) await op();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / n);
    wall.push(((performance.now() - started) * 1000) / n);
  }
  return { cpu: median(cpu), wall: median(wall) };
}

/** The store deadline as it was: a timer and a race per store call. */
function timerPerCall<T>(work: Promise<T>, ms = STORE_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('late')), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

function middlewareOp(middleware: RequestHandler): Op {
  const req = {} as never;
  return () => {
    middleware(req, response() as never, () => undefined);
  };
}

const rows: string[][] = [['step', 'before', 'after', 'saved per use']];
const row = (step: string, before: number, after: number, unit = 'µs CPU'): void => {
  rows.push([step, `${before.toFixed(2)} ${unit}`, `${after.toFixed(2)} ${unit}`, `${(before - after).toFixed(2)} ${unit}`]);
};

async function main(): Promise<void> {
  const redisUrl = process.argv[2] ?? 'redis://127.0.0.1:6379';
  const n = 20_000;

  // A bare response costs something too: it is subtracted from both sides.
  const bare = cpuPerCall(() => response(), n);
  const helmets = cpuPerCall(middlewareOp(helmetFor(false)), n) - bare;
  const ours = cpuPerCall(middlewareOp(securityHeaders({ production: false })), n) - bare;
  row('security headers: helmet per request → recorded once', helmets, ours);

  const metrics = new Metrics({ defaultMetrics: false });
  const child = metrics.httpRequests.labels('POST', '/api/chat', '200');
  const histogram = metrics.httpDuration.labels('POST', '/api/chat', '200');
  const byLabels = cpuPerCall(() => {
    const labels = { method: 'POST', route: '/api/chat', status: '200' };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, 0.002);
  }, n);
  const byChild = cpuPerCall(() => {
    child.inc();
    histogram.observe(0.002);
  }, n);
  row('request metrics: label object → cached children', byLabels, byChild);

  const nextId = uniqueIds();
  const uuids = cpuPerCall(() => [randomUUID(), randomUUID()], n);
  const counters = cpuPerCall(() => [nextId(), nextId()], n);
  row('request + reservation ids (both): 2 UUIDs → prefix + counter', uuids, counters);

  const secret = 'x'.repeat(40);
  const known = new Map<string, string>([['alice', 'u_0123456789abcdef']]);
  const hmacs = cpuPerCall(() => createHmac('sha256', secret).update('alice').digest('hex').slice(0, 16), n);
  const remembered = cpuPerCall(() => known.get('alice'), n);
  row('log pseudonym (LOG_LEVEL=info): HMAC → remembered', hmacs, remembered);

  const settled = Promise.resolve(1);
  const timerEach = await perCallAsync(() => timerPerCall(settled), n);
  const swept = await perCallAsync(() => withDeadline(settled, 'bench'), n);
  row('store deadline (x4 a chat): a timer per call → one sweeping timer', timerEach.cpu, swept.cpu);

  const logger = createLogger('error');
  const plain = createStoreClient({ url: redisUrl, tlsRejectUnauthorized: true }, logger);
  const cached = createSessionClient({ url: redisUrl, tlsRejectUnauthorized: true, cacheEntries: 100 });
  await Promise.all([plain.connect(), cached.connect()]);
  try {
    const sid = `bench-micro-${randomUUID()}`;
    const session = { cookie: { originalMaxAge: 43_200_000 }, user: { username: 'alice', plan: 'default' }, createdAt: 1, lastSeenAt: 1 };
    const plainStore = new RedisStore({ client: plain, prefix: 'perf-bff:bench-micro:' });
    const cachedStore = new RedisStore({ client: cached, prefix: 'perf-bff:bench-micro:' });
    await plainStore.set(sid, session);
    const fromRedis = await perCallAsync(() => plainStore.get(sid), 2000);
    const fromCache = await perCallAsync(() => cachedStore.get(sid), 2000);
    row('session read: Redis GET → client-side cache (CPU)', fromRedis.cpu, fromCache.cpu);
    row('session read: Redis GET → client-side cache (wall)', fromRedis.wall, fromCache.wall, 'µs wall');
    await plainStore.destroy(sid);
  } finally {
    plain.destroy();
    cached.destroy();
  }

  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
