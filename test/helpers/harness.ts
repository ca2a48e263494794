import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { hashPassword } from '../../src/auth/passwords';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { PerfStandIn } from '../../src/dev/perf-stand-in';
import { createLogger } from '../../src/infra/logger';
import { createRedisClient, pingWithin } from '../../src/infra/redis';
import type { RedisClient } from '../../src/infra/redis';
import type { LedgerWindow } from '../../src/limits/ledger';
import { createPerfDispatcher, PerfClient } from '../../src/perf/client';
import { createStores } from '../../src/stores';
import type { Stores } from '../../src/stores';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_KEY = 'pk_test_harness_0123456789abcdef';
export const PASSWORD = 'correct horse battery staple';

export type Mode = 'redis' | 'memory';

/** Captures every log line the app writes, for assertions on what is (not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface HarnessOptions {
  mode: Mode;
  env?: Record<string, string>;
  /** Share one stand-in between instances. */
  standIn?: PerfStandIn;
  /** Share one key prefix between instances (two instances, one Redis). */
  prefix?: string;
  now?: () => number;
  ledgerWindow?: LedgerWindow;
  perfRetryBackoffMs?: number;
  /** Replace some stores, e.g. a ledger whose Redis is unreachable. */
  storeOverrides?: (stores: Stores) => Partial<Stores>;
}

export interface Harness {
  url: string;
  app: Express;
  server: Server;
  standIn: PerfStandIn;
  stores: Stores;
  redis: RedisClient | undefined;
  config: Config;
  logs: LogCapture;
  prefix: string;
  agent(): supertest.Agent;
  addUser(username: string, password?: string): Promise<void>;
  /** A signed-in agent for a fresh user. */
  signedIn(username?: string): Promise<supertest.Agent>;
  /** A fresh user's session cookie, for raw HTTP clients. */
  sessionCookie(username?: string): Promise<string>;
  usage(cookie: string): Promise<{ spent_usd: number; reserved_usd: number; remaining_usd: number | null; limit_usd: number | null }>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const ownStandIn = options.standIn === undefined;
  const standIn = options.standIn ?? new PerfStandIn({ apiKeys: [TEST_KEY] });
  const perfUrl = ownStandIn ? await standIn.listen() : (standIn as unknown as { baseUrl: string }).baseUrl;
  const prefix = options.prefix ?? `perf-bff:test:${randomUUID()}:`;
  const config = loadConfig({
    PERF_API_KEY: TEST_KEY,
    PERF_BASE_URL: perfUrl,
    SESSION_SECRET: 'test-secret-0123456789-0123456789-abcdef',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...(options.mode === 'redis' ? { REDIS_URL: REDIS_URL } : {}),
    ...options.env,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  let redis: RedisClient | undefined;
  if (config.redisUrl !== undefined) {
    redis = createRedisClient({ url: config.redisUrl, tlsRejectUnauthorized: true }, logger);
    await redis.connect();
  }
  const created = createStores(config, redis, { ...(options.now ? { now: options.now } : {}), ...(options.ledgerWindow ? { ledgerWindow: options.ledgerWindow } : {}) });
  const stores: Stores = { ...created, ...options.storeOverrides?.(created) };
  const dispatcher = createPerfDispatcher();
  const perf = new PerfClient({ baseUrl: config.perfBaseUrl, apiKey: TEST_KEY, logger, dispatcher, backoffBaseMs: options.perfRetryBackoffMs ?? 20 });
  const app = createApp({
    config,
    logger,
    stores,
    perf,
    ready: async () => (redis === undefined ? true : pingWithin(redis, 500)),
    ...(options.now ? { now: options.now } : {}),
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const harness: Harness = {
    url,
    app,
    server,
    standIn,
    stores,
    redis,
    config,
    logs,
    prefix,
    agent: () => supertest.agent(url),
    async addUser(username, password = PASSWORD) {
      await stores.users.put({ username, passwordHash: await hashPassword(password), createdAt: new Date().toISOString() });
    },
    async signedIn(username = `user${randomUUID().slice(0, 8)}`) {
      await harness.addUser(username);
      const agent = supertest.agent(url);
      await agent.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      return agent;
    },
    async sessionCookie(username = `user${randomUUID().slice(0, 8)}`) {
      await harness.addUser(username);
      const res = await supertest(url).post('/auth/login').send({ username, password: PASSWORD }).expect(200);
      const header = res.headers['set-cookie'] as unknown as string[];
      return (header[0] ?? '').split(';')[0] ?? '';
    },
    async usage(cookie) {
      const res = await supertest(url).get('/api/usage').set('Cookie', cookie).expect(200);
      return (res.body as { budget: { spent_usd: number; reserved_usd: number; remaining_usd: number | null; limit_usd: number | null } }).budget;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
      if (redis !== undefined) {
        if (options.prefix === undefined) await deleteKeys(redis, prefix);
        await redis.close();
      }
      if (ownStandIn) await standIn.close();
    },
  };
  return harness;
}

/** A stand-in that several harnesses can share. */
export async function sharedStandIn(): Promise<PerfStandIn & { baseUrl: string }> {
  const standIn = new PerfStandIn({ apiKeys: [TEST_KEY] }) as PerfStandIn & { baseUrl: string };
  standIn.baseUrl = await standIn.listen();
  return standIn;
}

export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
  if (keys.length > 0) await redis.del(keys);
}

/** Deletes a test run's keys over a connection of its own. */
export async function clearPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = createRedisClient({ url, tlsRejectUnauthorized: true }, createLogger('silent'));
  await redis.connect();
  try {
    await deleteKeys(redis, prefix);
  } finally {
    await redis.close();
  }
}

export function modes(): Mode[] {
  return ['redis', 'memory'];
}
