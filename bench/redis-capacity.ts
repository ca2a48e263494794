// Redis's share of a chat, on one Redis and on a 3-master Redis Cluster, measured in the same run
// (interleaved rounds): commands and bytes per chat and per stream, Redis CPU per chat on each
// master, the ops/s and chats/s reached, and the memory a session and a user take. docs/scaling.md
// turns these into capacity. Run: npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/redis-capacity.js
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { createClient } from 'redis';
import { createPasswordHasher } from '../src/auth/passwords';
import { PerfStandIn } from '../src/dev/perf-stand-in';
import { createLogger } from '../src/infra/logger';
import { createStoreClient } from '../src/stores/redis-client';
import { createClusterStoreClient } from '../src/stores/redis-cluster-client';
import type { StoreRedis } from '../src/stores/store-redis';
import { RedisUserStore } from '../src/stores/user-store';
import { freePort } from '../test/helpers/net';
import { startCluster } from '../test/cluster/local-cluster';
import { startMonitor } from './lib/redis-monitor';
import { delta, memoryUsage, nodeStats } from './lib/redis-stats';
import type { NodeStats } from './lib/redis-stats';

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = `pk_test_capacity_${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(32).toString('base64url');
const PASSWORD = randomBytes(12).toString('base64url');
const USERS = 64;
const CONNECTIONS = 32;
const JSON_MS = 5000;
const STREAM_MS = 3000;
const ROUNDS = 3;
const MEMORY_USERS = 500;

interface Target {
  name: string;
  /** Each app its own REDIS_KEY_PREFIX: two apps share each Redis. */
  prefix: string;
  /** GLOBAL_DAILY_BUDGET_USD set: every call also reserves in the operator's ceiling, one slot for all. */
  ceiling: boolean;
  env: Record<string, string>;
  masters: () => Promise<number[]>;
  client: StoreRedis;
  url: string;
  cookies: string[];
  app: ChildProcess;
}

interface Round {
  target: string;
  kind: 'json' | 'stream';
  chats: number;
  errors: number;
  seconds: number;
  nodes: NodeStats[];
}

async function startApp(env: Record<string, string>): Promise<{ url: string; app: ChildProcess }> {
  const port = await freePort();
  const app = spawn(process.execPath, [path.join(ROOT, 'dist', 'server.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      SESSION_SECRET: SECRET,
      PERF_API_KEY: KEY,
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_REQUESTS: '1000000',
      DAILY_BUDGET_USD: '1000000',
      MAX_COST_PER_CALL: '0.01',
      // Hundreds of sign-ins from one address are the bench, not an attack.
      LOGIN_MAX_FAILURES_PER_IP: '100000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i += 1) {
    const ready = await request(`${url}/readyz`).then(
      async (r) => (await r.body.text(), r.statusCode === 200),
      () => false,
    );
    if (ready) return { url, app };
    await sleep(100);
  }
  app.kill('SIGKILL');
  throw new Error(`perf-bff did not become ready with ${env.REDIS_URL ?? ''}`);
}

async function signIn(url: string, username: string): Promise<string> {
  const res = await request(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  await res.body.text();
  const cookie = [res.headers['set-cookie'] ?? []].flat()[0] ?? '';
  if (res.statusCode !== 200 || cookie === '') throw new Error(`sign-in answered ${res.statusCode}`);
  return cookie.split(';')[0] ?? '';
}

async function seedUsers(client: StoreRedis, prefix: string, names: string[]): Promise<void> {
  // The hash names its (low) cost, so the server verifies it cheaply: the bench measures chats, not scrypt.
  const passwordHash = await createPasswordHasher({ N: 16, r: 8, p: 1 }).hash(PASSWORD);
  const users = new RedisUserStore(client, prefix);
  await Promise.all(names.map((username) => users.put({ username, passwordHash, createdAt: new Date().toISOString() })));
}

const body = (kind: 'json' | 'stream') => JSON.stringify(kind === 'json' ? { message: 'hi' } : { message: 'hi', stream: true });

async function drive(target: Target, kind: 'json' | 'stream', ms: number): Promise<{ chats: number; errors: number; seconds: number }> {
  const pool = new Pool(target.url, { connections: CONNECTIONS });
  let chats = 0;
  let errors = 0;
  let n = 0;
  const started = process.hrtime.bigint();
  const until = Date.now() + ms;
  const loop = async () => {
    while (Date.now() < until) {
      const cookie = target.cookies[n++ % target.cookies.length] ?? '';
      try {
        const res = await pool.request({
          path: '/api/chat',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', cookie },
          body: body(kind),
        });
        await res.body.text();
        if (res.statusCode === 200) chats += 1;
        else errors += 1;
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.close();
  return { chats, errors, seconds };
}

async function measure(target: Target, kind: 'json' | 'stream', ms: number): Promise<Round> {
  const masters = await target.masters();
  const before = await Promise.all(masters.map(nodeStats));
  const run = await drive(target, kind, ms);
  const after = await Promise.all(masters.map(nodeStats));
  return { target: target.name, kind, ...run, nodes: after.map((stats, i) => delta(before[i] ?? stats, stats)) };
}

/** The commands a chat sends (not those its scripts run), one chat at a time, with MONITOR on every master. */
async function census(target: Target, kind: 'json' | 'stream', count: number): Promise<Record<string, number>> {
  const monitors = await Promise.all((await target.masters()).map(startMonitor));
  for (let i = 0; i < count; i += 1) {
    const res = await request(`${target.url}/api/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-proto': 'https',
        cookie: target.cookies[i % target.cookies.length] ?? '',
      },
      body: body(kind),
    });
    await res.body.text();
  }
  await sleep(200);
  const perChat: Record<string, number> = {};
  for (const counted of monitors.map((m) => m.stop())) {
    for (const [command, n] of Object.entries(counted.byCommand)) {
      if (command === 'INFO' || command === 'PING' || command === 'CLUSTER') continue;
      perChat[command] = (perChat[command] ?? 0) + n / count;
    }
  }
  return perChat;
}

/** used_memory over the masters before and after MEMORY_USERS new users each sign in and chat once; and a key of each kind. */
async function memory(target: Target): Promise<{ perUser: number; keys: Record<string, number>; spendPerUserDay: number }> {
  const masters = await target.masters();
  const used = async () => (await Promise.all(masters.map(nodeStats))).reduce((sum, s) => sum + s.usedMemory, 0);
  const names = Array.from({ length: MEMORY_USERS }, (_v, i) => `memory${i}`);
  const before = await used();
  await seedUsers(target.client, target.prefix, names);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names.slice(i, i + 25).map(async (name) => {
        const cookie = await signIn(target.url, name);
        const res = await request(`${target.url}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', cookie },
          body: body('json'),
        });
        await res.body.text();
      }),
    );
  }
  const perUser = ((await used()) - before) / MEMORY_USERS;
  const keys: Record<string, number> = {};
  let spendBytes = 0;
  const spendUsers = new Set<string>();
  for (const port of masters) {
    const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    for await (const batch of client.scanIterator({ MATCH: `${target.prefix}*memory7*`, COUNT: 1000 })) {
      for (const key of batch) keys[key.slice(target.prefix.length).replace(/memory7\d*/, '<user>')] = await memoryUsage(port, key);
    }
    for await (const batch of client.scanIterator({ MATCH: `${target.prefix}sess:*`, COUNT: 1000 })) {
      if (batch[0] !== undefined) keys['sess:<id>'] ??= await memoryUsage(port, batch[0]);
    }
    // The day's spend log: its bytes over the users it holds (each kept SPEND_HISTORY_DAYS days).
    for await (const batch of client.scanIterator({ MATCH: `${target.prefix}spend:*`, COUNT: 1000 })) {
      for (const key of batch) {
        spendBytes += await memoryUsage(port, key);
        for (const field of await client.hKeys(key)) spendUsers.add(field.split('\t')[0] ?? '');
      }
    }
    client.destroy();
  }
  return { perUser, keys, spendPerUserDay: spendBytes / Math.max(1, spendUsers.size) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function summarize(rounds: Round[], target: string, kind: 'json' | 'stream') {
  const mine = rounds.filter((r) => r.target === target && r.kind === kind);
  const per = (pick: (r: Round) => number) => median(mine.map(pick));
  const sum = (r: Round, f: (s: NodeStats) => number) => r.nodes.reduce((total, s) => total + f(s), 0);
  return {
    rounds: mine.length,
    chats_per_s: per((r) => r.chats / r.seconds),
    errors: mine.reduce((total, r) => total + r.errors, 0),
    redis_ops_per_s: per((r) => sum(r, (s) => s.commands) / r.seconds),
    commands_per_chat: per((r) => sum(r, (s) => s.commands) / r.chats),
    bytes_in_per_chat: per((r) => sum(r, (s) => s.inputBytes) / r.chats),
    // One Redis has no replica: all of its output goes to clients.
    bytes_out_per_chat: per((r) => sum(r, (s) => s.outputBytes - s.replOutputBytes) / r.chats),
    redis_cpu_us_per_chat: per((r) => (sum(r, (s) => s.cpuSeconds) * 1e6) / r.chats),
    hottest_master_cpu_us_per_chat: per((r) => (Math.max(...r.nodes.map((s) => s.cpuSeconds)) * 1e6) / r.chats),
    /** The hottest master's main thread, busy this share of the round: how far from saturated Redis was. */
    hottest_master_busy: per((r) => Math.max(...r.nodes.map((s) => s.cpuSeconds)) / r.seconds),
    busiest_master_share: per(
      (r) =>
        Math.max(...r.nodes.map((s) => s.commands)) /
        Math.max(
          1,
          sum(r, (s) => s.commands),
        ),
    ),
  };
}

async function main(): Promise<void> {
  const standIn = new PerfStandIn({ apiKeys: [KEY] });
  const perfUrl = await standIn.listen(0, '127.0.0.1');
  setInterval(() => (standIn.requests.length = 0), 500).unref();
  const singlePort = await freePort();
  const single = spawn('redis-server', ['--port', String(singlePort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const cluster = await startCluster();
  const targets: Target[] = [];
  try {
    const singleUrl = `redis://127.0.0.1:${singlePort}`;
    const kinds: { name: string; env: Record<string, string>; masters: () => Promise<number[]> }[] = [
      { name: 'one Redis', env: { REDIS_URL: singleUrl }, masters: () => Promise.resolve([singlePort]) },
      {
        name: '3-master cluster',
        env: { REDIS_URL: cluster.seeds, REDIS_CLUSTER: 'true' },
        masters: () => clusterMasters(cluster.nodes[0]?.port ?? 0),
      },
    ];
    await sleep(300);
    for (const ceiling of [true, false]) {
      for (const kind of kinds) {
        const prefix = ceiling ? 'perf-bff:' : 'perf-bff-nc:';
        const client =
          kind.env.REDIS_CLUSTER === 'true'
            ? createClusterStoreClient({ urls: cluster.seeds.split(','), tlsRejectUnauthorized: true }, createLogger('silent'))
            : createStoreClient({ url: singleUrl, tlsRejectUnauthorized: true }, createLogger('silent'));
        await client.connect();
        const names = Array.from({ length: USERS }, (_v, i) => `load${i}`);
        await seedUsers(client, prefix, names);
        const env: Record<string, string> = {
          ...kind.env,
          REDIS_KEY_PREFIX: prefix,
          ...(ceiling ? { GLOBAL_DAILY_BUDGET_USD: '100000000' } : {}),
        };
        const { url, app } = await startApp({ ...env, PERF_BASE_URL: perfUrl });
        const name = `${kind.name}${ceiling ? ', with the ceiling' : ', no ceiling'}`;
        const target: Target = { name, prefix, ceiling, env, masters: kind.masters, client, url, app, cookies: [] };
        // Listed before anything else can fail, so that the finally block ends its process.
        targets.push(target);
        target.cookies = await Promise.all(names.map((user) => signIn(url, user)));
      }
    }
    for (const target of targets) await drive(target, 'json', 2000);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      for (const target of r % 2 === 0 ? targets : [...targets].reverse()) rounds.push(await measure(target, 'json', JSON_MS));
    }
    for (let r = 0; r < 2; r += 1) {
      for (const target of r % 2 === 0 ? targets : [...targets].reverse()) rounds.push(await measure(target, 'stream', STREAM_MS));
    }
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, load_1min: (await import('node:os')).loadavg()[0] },
      settings: { users: USERS, connections: CONNECTIONS, json_ms: JSON_MS, stream_ms: STREAM_MS, rounds: ROUNDS },
      targets: {} as Record<string, unknown>,
    };
    for (const target of targets) {
      results.targets[target.name] = {
        json: summarize(rounds, target.name, 'json'),
        stream: summarize(rounds, target.name, 'stream'),
        sent_per_json_chat: await census(target, 'json', 50),
        sent_per_stream: await census(target, 'stream', 20),
        ...(target.ceiling ? { memory: await memory(target) } : {}),
      };
    }
    const file = path.join(ROOT, 'bench', 'redis-capacity.json');
    writeFileSync(file, `${JSON.stringify({ ...results, rounds }, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten to ${file}\n`);
  } finally {
    for (const target of targets) {
      target.app.kill('SIGKILL');
      target.client.destroy();
    }
    single.kill('SIGKILL');
    await cluster.stop();
    await standIn.close();
  }
}

async function clusterMasters(port: number): Promise<number[]> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const nodes = await client.clusterNodes();
    return nodes
      .split('\n')
      .map((line) => line.split(' '))
      .filter((f) => (f[2] ?? '').split(',').includes('master') && !(f[2] ?? '').includes('fail'))
      .map((f) => Number((f[1] ?? '').split('@')[0]?.split(':')[1]));
  } finally {
    client.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`redis-capacity: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
