import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { call, COOKIE_NAME, freePort, newAgent, startSelfSignedTlsRedis, startStandIn, stopEverything, tempDir, waitFor } from './harness';
import type { RedisProcess } from './harness';

/*
 * A deploy the way Heroku does it, on this machine: the repository's files alone (no dist/, no
 * node_modules), `npm ci` and the `build` script, devDependencies pruned, then the Procfile's
 * release phase and its web process, with app.json's settings (the generated secret, the Redis
 * add-on with its self-signed certificate, the key the operator is asked for). The first user
 * signs in with the password the release log printed, chooses their own, and chats.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = 'pk_test_herokudeploy_0001';

let slug: string;
let redis: RedisProcess;
let env: Record<string, string>;

/** The repository's files as a fresh clone has them (tracked, and new ones not ignored). */
function copyRepository(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(path.join(ROOT, f)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(to, file));
  }
}

function npm(args: string[]): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund'], {
    cwd: slug,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', npm_config_cache: process.env.npm_config_cache ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A Procfile line's command, run as Heroku runs it: `sh -c`, in the slug, with the app's config vars. */
function procfileCommand(type: string): string {
  const line = readFileSync(path.join(slug, 'Procfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${type}:`));
  if (line === undefined) throw new Error(`no ${type} process in the Procfile`);
  return line.slice(type.length + 1).trim();
}

const groups: number[] = [];

/** In a process group of its own: Heroku signals every process of a dyno, and so does `stop()`. */
function run(type: string, extra: Record<string, string>) {
  const child = spawn('sh', ['-c', procfileCommand(type)], {
    cwd: slug,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) groups.push(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  };
  return { child, exit, out: () => stdout, err: () => stderr, stop };
}

function killGroups(): void {
  for (const pid of groups.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

beforeAll(async () => {
  slug = path.join(tempDir(), 'app');
  copyRepository(slug);
  // The Node.js buildpack: install everything, run `build`, then drop the devDependencies.
  npm(['ci', '--prefer-offline']);
  npm(['run', 'build']);
  npm(['prune', '--omit=dev']);

  redis = await startSelfSignedTlsRedis();
  const { url: perfUrl } = await startStandIn([KEY]);
  const manifest = JSON.parse(readFileSync(path.join(slug, 'app.json'), 'utf8')) as {
    env: Record<string, { value?: string; generator?: string }>;
  };
  env = { PATH: process.env.PATH ?? '' };
  for (const [name, entry] of Object.entries(manifest.env)) {
    if (entry.value !== undefined) env[name] = entry.value;
    if (entry.generator === 'secret') env[name] = 'b'.repeat(64);
  }
  // The add-on's URL, the key the operator typed, and (here only) a loopback Perf.
  Object.assign(env, { REDIS_URL: redis.url, PERF_API_KEY: KEY, PERF_BASE_URL: perfUrl });
}, 180_000);
afterAll(async () => {
  killGroups();
  await stopEverything();
});

test('the slug has the compiled app and no devDependencies', () => {
  expect(existsSync(path.join(slug, 'dist', 'server.js'))).toBe(true);
  expect(existsSync(path.join(slug, 'dist', 'cli', 'bootstrap.js'))).toBe(true);
  expect(existsSync(path.join(slug, 'node_modules', 'typescript'))).toBe(false);
  expect(existsSync(path.join(slug, 'node_modules', 'jest'))).toBe(false);
});

test('release, then web: the first user signs in with the one-time password from the release log, chooses a password and chats', async () => {
  const release = run('release', { DYNO: 'release.1' });
  expect(await release.exit).toBe(0);
  const password = /^ {4}(\S{24})$/m.exec(release.out())?.[1];
  expect(password).toBeDefined();
  expect(release.out()).toContain('the first user is "admin"');

  // Every later release finds the user and prints no password.
  const again = run('release', { DYNO: 'release.2' });
  expect(await again.exit).toBe(0);
  expect(again.out()).toContain('users exist');
  expect(again.out()).not.toContain(password ?? '');

  const port = await freePort();
  const web = run('web', { DYNO: 'web.1', PORT: String(port) });
  await waitFor('the web process to listen', () => web.out().includes('perf-bff listening'), 15_000);
  const base = `http://127.0.0.1:${port}`;
  // As Heroku's router forwards a browser's https request.
  const router = { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' };
  const agent = newAgent();
  const cookieOf = (headers: Record<string, string | string[] | undefined>): string =>
    ([headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${COOKIE_NAME}=`)) ?? '').split(';')[0] ?? '';

  const login = await call(agent, base, 'POST', '/auth/login', { headers: router, body: { username: 'admin', password } });
  expect(login.status).toBe(200);
  expect(login.json()).toEqual({ user: { username: 'admin', must_change_password: true } });
  const changed = await call(agent, base, 'POST', '/auth/password', {
    headers: router,
    cookie: cookieOf(login.headers),
    body: { current_password: password, new_password: 'the admin chose this one' },
  });
  expect(changed.status).toBe(200);
  const chat = await call(agent, base, 'POST', '/api/chat', {
    headers: router,
    cookie: cookieOf(changed.headers),
    body: { message: 'hello' },
  });
  expect(chat.status).toBe(200);
  expect((chat.json() as { choices: unknown[] }).choices).toHaveLength(1);

  // The web log never holds the password; SIGTERM (a dyno restart) ends it cleanly.
  expect(web.out()).not.toContain(password ?? '');
  web.stop('SIGTERM');
  await web.exit;
  await waitFor('the web process to finish', () => web.out().includes('"msg":"shut down"'), 10_000);
  expect(web.err()).toBe('');
}, 60_000);
