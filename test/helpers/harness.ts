import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import type { Express } from 'express';
import { Accounts } from '../../src/auth/accounts';
import type { ScryptCost } from '../../src/auth/passwords';
import { compose } from '../../src/compose';
import type { Composition } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { PerfStandIn } from '../../src/dev/perf-stand-in';
import { createLogger } from '../../src/infra/logger';
import type { LedgerWindow } from '../../src/limits/ledger-window';
import { serve } from '../../src/serve';
import type { Stores } from '../../src/stores';
import { createStoreClient } from '../../src/stores/redis-client';
import { isCluster } from '../../src/stores/store-redis';
import type { StoreRedis } from '../../src/stores/store-redis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * Set by the "cluster" project (test/cluster/use-cluster.ts): the seed nodes of the local Redis
 * Cluster. The app then runs with REDIS_CLUSTER=true, and only the Redis mode is tested.
 */
export const CLUSTER_URLS = process.env.TEST_REDIS_CLUSTER_URLS;
const REDIS_ENV: Record<string, string> = CLUSTER_URLS === undefined ? { REDIS_URL } : { REDIS_URL: CLUSTER_URLS, REDIS_CLUSTER: 'true' };
export const TEST_KEY = 'pk_test_harness_0123456789abcdef';
export const PASSWORD = 'correct horse battery staple';

export type Mode = 'redis' | 'memory';

/** A scrypt cost that makes a test sign-in take a millisecond (production's is PRODUCTION_SCRYPT). */
export const TEST_SCRYPT: ScryptCost = { N: 16, r: 8, p: 1 };

/** Captures every log line the app writes, for assertions on what is (not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
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

/** One app built by the real composition root (src/compose.ts), listening on a free port. */
export interface Harness {
  url: string;
  app: Express;
  server: Server;
  composition: Composition;
  standIn: PerfStandIn;
  stores: Stores;
  redis: StoreRedis | undefined;
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
    ...(options.mode === 'redis' ? REDIS_ENV : {}),
    ...options.env,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const composition = await compose(config, logger, {
    scryptCost: TEST_SCRYPT,
    perfBackoffBaseMs: options.perfRetryBackoffMs ?? 20,
    defaultMetrics: false,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.ledgerWindow === undefined ? {} : { ledgerWindow: options.ledgerWindow }),
    ...(options.storeOverrides === undefined ? {} : { storeOverrides: options.storeOverrides }),
  });
  const running = await serve(composition, { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 200 });
  const { stores, redis } = composition;
  const url = running.url;

  const harness: Harness = {
    url,
    app: composition.app,
    server: running.server,
    composition,
    standIn,
    stores,
    redis,
    config,
    logs,
    prefix,
    agent: () => supertest.agent(url),
    async addUser(username, password = PASSWORD) {
      await stores.users.put({ username, passwordHash: await composition.passwords.hash(password), createdAt: new Date().toISOString() });
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
      return (res.body as { budget: { spent_usd: number; reserved_usd: number; remaining_usd: number | null; limit_usd: number | null } })
        .budget;
    },
    async close() {
      if (redis !== undefined && options.prefix === undefined) await deleteKeys(redis, prefix);
      await running.shutdown('test');
      if (ownStandIn) await standIn.close();
    },
  };
  return harness;
}

/** What `npm run users` does to accounts, on this harness's stores (as the app builds it). */
export function accountsOf(h: Harness): Accounts {
  const { stores, passwords, config } = h.composition;
  return new Accounts({ users: stores.users, sessions: stores.sessionIndex, plans: stores.plans }, passwords, new Set(config.plans.keys()));
}

/** Two instances of the app sharing one Redis (and one key prefix): what a second dyno sees. */
export async function twoInstances(
  options: { env?: Record<string, string> } = {},
): Promise<{ a: Harness; b: Harness; close: () => Promise<void> }> {
  const env = options.env ?? {};
  const a = await startHarness({ mode: 'redis', env });
  const b = await startHarness({ mode: 'redis', env, prefix: a.prefix });
  return {
    a,
    b,
    close: async () => {
      await b.close();
      await a.close();
    },
  };
}

/** The session id inside a signed session cookie (`name=s:<id>.<signature>`), to find its key in Redis. */
export function sessionIdOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

/** A stand-in that several harnesses can share. */
export async function sharedStandIn(): Promise<PerfStandIn & { baseUrl: string }> {
  const standIn = new PerfStandIn({ apiKeys: [TEST_KEY] }) as PerfStandIn & { baseUrl: string };
  standIn.baseUrl = await standIn.listen();
  return standIn;
}

export async function deleteKeys(redis: StoreRedis, prefix: string): Promise<void> {
  if (!isCluster(redis)) {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
    if (keys.length > 0) await redis.del(keys);
    return;
  }
  // Each master holds its own keys, and one DEL may not span slots: scanned per master, deleted one by one.
  for (const master of redis.masters) {
    const node = await redis.nodeClient(master);
    for await (const batch of node.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 }))
      await Promise.all(batch.map((key) => node.unlink(key)));
  }
}

/** Deletes a test run's keys over a connection of its own. */
export async function clearPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = createStoreClient({ url, tlsRejectUnauthorized: true }, createLogger('silent'));
  await redis.connect();
  try {
    await deleteKeys(redis, prefix);
  } finally {
    await redis.close();
  }
}

/** The store modes a test runs in: on the cluster project, Redis only (the memory stores are the unit project's). */
export function modes(): Mode[] {
  return CLUSTER_URLS === undefined ? ['redis', 'memory'] : ['redis'];
}
