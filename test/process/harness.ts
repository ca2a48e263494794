import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { createPasswordHasher } from '../../src/auth/passwords';
import { PerfStandIn } from '../../src/dev/perf-stand-in';
import { createLogger } from '../../src/infra/logger';
import { createStoreClient } from '../../src/stores/redis-client';
import { RedisUserStore } from '../../src/stores/user-store';
import { TEST_SCRYPT } from '../helpers/harness';

/**
 * Process-level test harness: real `node dist/server.js` children, a real redis-server each test
 * file owns, and the Perf stand-in in the jest process. Everything started here is registered
 * so that `stopEverything()` (called from afterAll) kills it even when a test failed midway.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER = path.join(ROOT, 'dist', 'server.js');
export const CLI = path.join(ROOT, 'dist', 'cli', 'users.js');

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void> | void)[] = [];

export async function stopEverything(): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'perf-bff-process-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

// ---------------------------------------------------------------- redis-server

export interface RedisProcess {
  port: number;
  url: string;
  /** SIGKILL: no goodbye to the clients. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: connected, but not answering. */
  pause(): void;
  resume(): void;
  /** The certificate of a TLS Redis (its own CA). */
  cert?: string;
}

/** A plain redis-server on a free port; `extraArgs` add persistence or TLS. */
export async function startRedis(options: { args?: (port: number) => string[]; scheme?: 'redis' | 'rediss' } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const args = options.args?.(port) ?? ['--port', String(port), '--save', '', '--appendonly', 'no'];
  let child: ChildProcess | undefined;
  const handle: RedisProcess = {
    port,
    url: `${options.scheme ?? 'redis'}://127.0.0.1:${port}`,
    async start() {
      const proc = track(spawn('redis-server', [...args, '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      child = proc;
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('redis-server to accept connections', () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
        return out.includes('Ready to accept connections');
      });
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async kill() {
      child?.kill('SIGCONT');
      if (child === undefined) return;
      const proc = child;
      proc.kill('SIGKILL');
      await exited(proc);
    },
  };
  await handle.start();
  cleanups.push(() => handle.kill());
  return handle;
}

/**
 * redis-server on TLS with a self-signed certificate, as Heroku Key-Value Store presents: valid for
 * 127.0.0.1, signed by nobody we trust. `args` adds more (a password).
 */
export async function startSelfSignedTlsRedis(args: string[] = []): Promise<RedisProcess> {
  const dir = tempDir();
  const cert = path.join(dir, 'redis.crt');
  const key = path.join(dir, 'redis.key');
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'];
  execFileSync('openssl', [...'req -x509 -newkey rsa:2048 -nodes -days 1 -keyout'.split(' '), key, '-out', cert, ...subject], {
    stdio: 'ignore',
  });
  const tls = ['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'];
  const redis = await startRedis({
    scheme: 'rediss',
    args: (port) => ['--port', '0', '--tls-port', String(port), ...tls, '--save', '', '--appendonly', 'no', ...args],
  });
  return Object.assign(redis, { cert });
}

export { freePort, listening } from '../helpers/net';
import { freePort } from '../helpers/net';

// ---------------------------------------------------------------- the Perf stand-in

export async function startStandIn(apiKeys: string[]): Promise<{ standIn: PerfStandIn; url: string }> {
  const standIn = new PerfStandIn({ apiKeys });
  const url = await standIn.listen(0, '127.0.0.1');
  cleanups.push(() => standIn.close());
  return { standIn, url };
}

// ---------------------------------------------------------------- a suite's pieces

export interface Suite {
  redis: RedisProcess;
  standIn: PerfStandIn;
  perfUrl: string;
  agent: Agent;
}

export interface SuiteOptions {
  /** The Perf keys the stand-in accepts. */
  keys: string[];
  /** Users written into the suite's Redis, all with `password`. */
  users?: string[];
  password?: string;
  /** A Redis started with other arguments (persistence), or 'self-signed-tls'. */
  redis?: Parameters<typeof startRedis>[0] | 'self-signed-tls';
  /** For users written over TLS to a self-signed Redis. */
  tlsRejectUnauthorized?: boolean;
}

/** What every process test file starts with: a Redis of its own, the Perf stand-in, its users, an HTTP agent. */
export async function startSuite(options: SuiteOptions): Promise<Suite> {
  const redis = options.redis === 'self-signed-tls' ? await startSelfSignedTlsRedis() : await startRedis(options.redis);
  const { standIn, url: perfUrl } = await startStandIn(options.keys);
  if (options.users !== undefined) await seedUsers(redis.url, options.users, options.password ?? '', options.tlsRejectUnauthorized);
  return { redis, standIn, perfUrl, agent: newAgent() };
}

// ---------------------------------------------------------------- the app

export interface AppProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every stdout line as written. */
  lines: string[];
  stderr: () => string;
  /** Lines parsed as JSON; throws if any line is not JSON. */
  logs(): Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const TEST_SECRET = 'process-suite-session-secret-0123456789-abcdef';

/** The production settings every app child gets; a test adds or overrides what it needs. */
export function productionEnv(overrides: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: '0',
    SESSION_SECRET: TEST_SECRET,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '10000',
    ...overrides,
  };
}

/** Starts `node dist/server.js` and resolves once it logged the port it listens on. */
export async function startApp(env: Record<string, string>, waitForListening = true): Promise<AppProcess> {
  // No inherited environment: the child sees exactly the settings the test chose (and no .env: cwd is a temp dir).
  const child = track(spawn(process.execPath, [SERVER], { env, cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l !== ''));
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const app: AppProcess = {
    child,
    url: '',
    port: 0,
    lines,
    stderr: () => stderr,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    exit: exited(child),
  };
  if (!waitForListening) return app;
  await waitFor(
    'the app to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}: ${stderr}`);
      return lines.some((l) => l.includes('perf-bff listening'));
    },
    15_000,
  );
  const line = lines.find((l) => l.includes('perf-bff listening')) ?? '';
  app.port = (JSON.parse(line) as { port: number }).port;
  app.url = `http://127.0.0.1:${app.port}`;
  return app;
}

// ---------------------------------------------------------------- HTTP

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
  ms: number;
}

export function newAgent(): Agent {
  const agent = new Agent({ connections: 64 });
  cleanups.push(() => agent.close());
  return agent;
}

/** One request as the browser behind Heroku's router would send it (X-Forwarded-Proto: https). */
export async function call(
  agent: Agent,
  base: string,
  method: 'GET' | 'POST',
  urlPath: string,
  options: { body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const started = Date.now();
  const res = await request(`${base}${urlPath}`, {
    method,
    dispatcher: agent,
    headers: {
      'x-forwarded-proto': 'https',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown, ms: Date.now() - started };
}

export const COOKIE_NAME = '__Host-perf-bff.sid';

/** Signs in and returns the session cookie as `name=value` for the Cookie header. */
export async function signIn(agent: Agent, base: string, username: string, password: string): Promise<string> {
  const res = await call(agent, base, 'POST', '/auth/login', { body: { username, password } });
  if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}`);
  const setCookie = [res.headers['set-cookie'] ?? []].flat();
  const cookie = setCookie.find((c) => c.startsWith(`${COOKIE_NAME}=`));
  if (cookie === undefined) throw new Error('no session cookie');
  return cookie.split(';')[0] ?? '';
}

/** Runs the real users CLI (`npm run users -- …` without the npm wrapper), with `input` on stdin. */
export async function runUsersCli(
  env: Record<string, string>,
  args: string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = track(spawn(process.execPath, [CLI, ...args], { env, cwd: tempDir(), stdio: ['pipe', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(input);
  const { code } = await exited(child);
  return { code, stdout, stderr };
}

/** `npm run users -- add <name>`, the password on stdin. */
export function addUserWithCli(env: Record<string, string>, username: string, password: string) {
  return runUsersCli(env, ['add', username], `${password}\n`);
}

// ---------------------------------------------------------------- users and raw sockets

/** Writes users straight into Redis with the app's own store code (one scrypt hash shared). */
export async function seedUsers(redisUrl: string, usernames: string[], password: string, tlsRejectUnauthorized = true): Promise<void> {
  const client = createStoreClient({ url: redisUrl, tlsRejectUnauthorized }, createLogger('silent'));
  await client.connect();
  try {
    const store = new RedisUserStore(client, 'perf-bff:');
    // Stored hashes name their cost, so the server verifies these cheaply too.
    const passwordHash = await createPasswordHasher(TEST_SCRYPT).hash(password);
    for (const username of usernames) await store.put({ username, passwordHash, createdAt: new Date().toISOString() });
  } finally {
    await client.close();
  }
}

/**
 * A connection that has begun a request before shutdown starts: the server counts it as active,
 * so the request can still be completed afterwards. This is how a request already on its way
 * through the router meets a shutting-down instance.
 */
export async function beginRequest(port: number, firstLine: string): Promise<{ finish: (rest: string) => Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(firstLine);
  return {
    async finish(rest: string) {
      socket.write(rest);
      await ended;
      return received;
    },
  };
}
