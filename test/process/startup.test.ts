import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createLogger } from '../../src/infra/logger';
import { createStoreClient } from '../../src/stores/redis-client';
import { clearPrefix, REDIS_URL } from '../helpers/harness';
import { openStream } from '../helpers/sse-client';

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER = path.join(ROOT, 'dist', 'server.js');
const USERS = path.join(ROOT, 'dist', 'cli', 'users.js');
/** Only what a fresh shell has: no .env values leak in from the developer's environment. */
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

interface ServerProcess {
  url: string;
  /** Everything it printed so far. */
  output: () => string;
  stop: () => Promise<void>;
}

/** `node dist/server.js` on a free port, from a folder with no .env; resolves once it listens. */
async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [SERVER], { env: { ...BASE_ENV, PORT: '0', ...env }, cwd: '/tmp' });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in: ${output}`)), 10_000);
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
      const match = /listening on http:\/\/localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${match[1]}`);
      }
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function signInDemo(url: string): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo', password: 'demo' }),
  });
}

describe('starting the process', () => {
  test('in production without the required settings, exits non-zero naming each one', () => {
    const result = spawnSync(process.execPath, [SERVER], {
      env: { ...BASE_ENV, NODE_ENV: 'production', PERF_API_KEY: 'not-a-key-secret-123' },
      encoding: 'utf8',
      cwd: '/tmp',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PERF_API_KEY is not a Perf key');
    expect(result.stderr).toContain('SESSION_SECRET is required');
    expect(result.stderr).toContain('REDIS_URL is required');
    expect(result.stderr).not.toContain('not-a-key-secret-123');
  });

  describe('the embedded default (no .env, no Redis, no key)', () => {
    let server: ServerProcess;
    let url: string;
    let log: string;
    beforeAll(async () => {
      server = await spawnServer({});
      url = server.url;
      log = server.output();
    });
    afterAll(() => server.stop());

    test('announces in-memory stores, the stand-in and the demo user plainly', () => {
      expect(log).toContain('NO REDIS_URL');
      expect(log).toContain('NO PERF_API_KEY: the built-in Perf stand-in answers');
      expect(log).toContain('sign in as \\"demo\\" with password \\"demo\\"');
      expect(log).not.toMatch(/pk_test_standin_/);
    });

    test('serves the page, signs in the demo user and chats with the stand-in, JSON and streaming', async () => {
      expect((await fetch(`${url}/`)).status).toBe(200);
      const login = await signInDemo(url);
      expect(login.status).toBe(200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const chat = await fetch(`${url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ message: 'hello' }),
      });
      expect(chat.status).toBe(200);
      const answer = (await chat.json()) as { choices: { message: { content: string } }[] };
      expect(answer.choices[0]?.message.content).toContain('Perf stand-in');
      const stream = await openStream(url, cookie, { message: 'hello', stream: true });
      await stream.done;
      expect(stream.events.at(-1)?.data).toBe('[DONE]');
    });
  });
});

describe('the stand-in against a real Redis (development, no key)', () => {
  const prefix = `perf-bff:test:demo:${randomUUID()}:`;
  test('the demo user signs in but is never written to Redis', async () => {
    const server = await spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix });
    try {
      expect((await signInDemo(server.url)).status).toBe(200);
      const redis = createStoreClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
      await redis.connect();
      try {
        expect(await redis.exists(`${prefix}user:demo`)).toBe(0);
      } finally {
        await redis.close();
      }
    } finally {
      await server.stop();
      await clearPrefix(prefix);
    }
  });
});

describe('npm run users', () => {
  const prefix = `perf-bff:test:cli:${randomUUID()}:`;
  const env = { ...BASE_ENV, REDIS_URL, REDIS_KEY_PREFIX: prefix };
  const run = (args: string[], input?: string) =>
    spawnSync(process.execPath, [USERS, ...args], { env, input: input ?? '', encoding: 'utf8', cwd: '/tmp' });
  afterAll(() => clearPrefix(prefix));

  test('add reads the password from standard input; list and remove work; the password is never printed', () => {
    const added = run(['add', 'Alice'], 'a-long-password\n');
    expect(added.status).toBe(0);
    expect(added.stdout).toBe('added alice\n');
    expect(added.stdout + added.stderr).not.toContain('a-long-password');
    expect(run(['add', 'alice'], 'another-password\n').stdout).toBe('updated alice; ended 0 sessions\n');
    expect(run(['list']).stdout).toBe('alice\tpassword\tdefault\t0 sessions open\n');
    expect(run(['remove', 'alice']).stdout).toBe('removed alice; ended 0 sessions\n');
    expect(run(['list']).stdout).toBe('');
    expect(run(['remove', 'alice']).status).toBe(1);
  });

  test('refuses a short password, a bad username and unknown commands', () => {
    expect(run(['add', 'bob'], 'short\n').status).toBe(2);
    expect(run(['add', '-bad name'], 'a-long-password\n').status).toBe(2);
    const usage = run(['frobnicate']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage:');
  });
});
