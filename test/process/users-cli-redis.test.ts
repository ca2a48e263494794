import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { freePort, runUsersCli, startRedis, startSelfSignedTlsRedis, stopEverything } from './harness';
import type { RedisProcess } from './harness';

/*
 * `npm run users` against a Redis it cannot use: it must not wait in silence. Each failure ends
 * within 10 s, non-zero, with one line naming the setting that fixes it.
 */

const PASSWORD = 'the-right-redis-password';
let guarded: RedisProcess;
let selfSigned: RedisProcess;
let silent: Server;
let silentPort: number;

beforeAll(async () => {
  [guarded, selfSigned] = await Promise.all([
    startRedis({ args: (port) => ['--port', String(port), '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD] }),
    startSelfSignedTlsRedis(),
  ]);
  // Accepts the connection and never says a word: a firewall that black-holes, a paused Redis.
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  silent.close();
  await stopEverything();
});

async function usersList(redisUrl: string, extra: Record<string, string> = {}) {
  const started = Date.now();
  const result = await runUsersCli({ PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, ...extra }, ['list']);
  return { ...result, ms: Date.now() - started };
}

test.each([
  [
    'a closed port',
    async () => `redis://127.0.0.1:${await freePort()}`,
    /nothing accepts connections at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*REDIS_URL/,
  ],
  [
    'an unknown host',
    () => Promise.resolve('redis://no-such-host.invalid:6379'),
    /host of redis:\/\/no-such-host\.invalid:6379 is not known.*REDIS_URL/,
  ],
  [
    'a wrong password',
    () => Promise.resolve(`redis://:wrong-password@127.0.0.1:${guarded.port}`),
    /refused the password: check the user and password in REDIS_URL/,
  ],
  ['no password where one is needed', () => Promise.resolve(`redis://127.0.0.1:${guarded.port}`), /needs a password: put it in REDIS_URL/],
  [
    'a self-signed TLS certificate',
    () => Promise.resolve(selfSigned.url),
    /not signed by a trusted authority.*set REDIS_TLS_REJECT_UNAUTHORIZED=false/,
  ],
  ['a server that never answers', () => Promise.resolve(`redis://127.0.0.1:${silentPort}`), /did not answer in time: check REDIS_URL/],
])('%s: exits 1 within 10 s naming the setting', async (_what, url, reason) => {
  const redisUrl = await url();
  const result = await usersList(redisUrl);
  expect(result.code).toBe(1);
  expect(result.ms).toBeLessThan(10_000);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^users: cannot reach Redis: /);
  expect(result.stderr).toMatch(reason);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toContain('wrong-password');
});

test('the same Redis with the right settings works', async () => {
  expect(await usersList(`redis://:${PASSWORD}@127.0.0.1:${guarded.port}`)).toMatchObject({ code: 0, stderr: '' });
  expect(await usersList(selfSigned.url, { REDIS_TLS_REJECT_UNAUTHORIZED: 'false' })).toMatchObject({ code: 0, stderr: '' });
});
