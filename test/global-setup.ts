import { accessSync, constants, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import path from 'node:path';
import { connect as connectTls } from 'node:tls';
import type { GlobalConfig } from 'jest';
import CLUSTER_TESTS from './cluster/selection.cjs';

/**
 * Runs once before any test (jest.config.js, top level): a suite started without its Redis or its
 * Chromium waits out every test's timeout instead of saying what is missing. This checks, in well
 * under a second, what the projects about to run need, and fails with every missing piece at once.
 */

const ROOT = path.resolve(__dirname, '..');
const PROJECTS = ['unit', 'process', 'e2e', 'page', 'cluster'] as const;
type Project = (typeof PROJECTS)[number];
const REDIS_TIMEOUT_MS = 1500;

export default async function globalSetup(globalConfig: GlobalConfig): Promise<void> {
  const runs = projectsThatMayRun(globalConfig, process.argv);
  // Which Redis each project uses: test/helpers/harness.ts and test/e2e/browser-harness.ts.
  const redisUrls = new Map<string, string[]>();
  const need = (url: string, name: string) => redisUrls.set(url, [...(redisUrls.get(url) ?? []), name]);
  if (runs.has('unit') || runs.has('process')) need(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', 'TEST_REDIS_URL');
  if (runs.has('e2e')) need(process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379', 'E2E_REDIS_URL');

  const redisServer = onPath('redis-server');
  const problems: string[] = [];
  const answers = await Promise.all([...redisUrls].map(async ([url, names]) => ({ url, names, up: await redisAnswers(url) })));
  for (const { url, names } of answers.filter((a) => !a.up)) {
    const port = portOf(url);
    problems.push(
      `start Redis: nothing answers PING at ${url} (${names.join(', ')}). Run ` +
        (redisServer ? '' : '`apt-get install -y redis-server`, then ') +
        `\`redis-server --daemonize yes --port ${port} --save "" --appendonly no\`, or set ${names.join(' / ')} to a Redis that runs.`,
    );
  }
  if (runs.has('process') && !redisServer && problems.length === 0) {
    problems.push('install redis-server: apt-get install -y redis-server (the process tests start their own on free ports)');
  }
  if (
    runs.has('cluster') &&
    !(redisServer && onPath('redis-cli')) &&
    !problems.some((p) => p.includes('apt-get install -y redis-server'))
  ) {
    problems.push(
      'install redis-server and redis-cli: apt-get install -y redis-server (the cluster tests start a Redis Cluster of their own)',
    );
  }
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (runs.has('e2e') && !executable(chromium)) {
    problems.push(`install Chromium: apt-get install -y chromium (or set CHROMIUM_PATH); nothing runs at ${chromium}`);
  }
  if (problems.length === 0) return;
  const error = new Error(`${problems.join('\n')}\n(checked by test/global-setup.ts before any test)`);
  error.stack = error.message; // Jest prints the stack: what to do, not where this file noticed.
  throw error;
}

/**
 * The projects that have tests to run. Jest does not tell a top-level globalSetup which projects
 * --selectProjects / --ignoreProjects kept: they are read from the command line, and whatever
 * cannot be told (another way of calling Jest) counts as running.
 */
function projectsThatMayRun(globalConfig: GlobalConfig, argv: string[]): Set<Project> {
  const selected = flagValues(argv, 'selectProjects');
  const ignored = flagValues(argv, 'ignoreProjects') ?? [];
  const patterns = globalConfig.testPathPatterns;
  const matches = patterns.isSet() ? patterns.toExecutor({ rootDir: globalConfig.rootDir }) : undefined;
  const files = testFiles(path.join(ROOT, 'test'));
  return new Set(
    PROJECTS.filter(
      (project) =>
        (selected === undefined || selected.includes(project)) &&
        !ignored.includes(project) &&
        files.some((file) => projectsOf(file).includes(project) && (matches === undefined || matches.isMatch(file))),
    ),
  );
}

/** `--flag a b`, `--flag=a`, and yargs' kebab-case spelling; undefined when the flag is absent. */
function flagValues(argv: string[], flag: string): string[] | undefined {
  const names = new Set([`--${flag}`, `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`]);
  let values: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    if (!names.has(eq === -1 ? arg : arg.slice(0, eq))) continue;
    values ??= [];
    if (eq !== -1) values.push(arg.slice(eq + 1));
    else while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) values.push(argv[++i]!);
  }
  return values;
}

/**
 * Mirrors jest.config.js: test/e2e, test/process, test/page and test/cluster are projects of their
 * own, the rest is "unit"; the cluster project runs some of the unit files too (selection.cjs).
 */
function projectsOf(file: string): Project[] {
  const relative = path.relative(ROOT, file).split(path.sep).join('/');
  const top = relative.split('/')[1];
  if (top === 'cluster') return ['cluster'];
  const own: Project = top === 'e2e' || top === 'process' || top === 'page' ? top : 'unit';
  return CLUSTER_TESTS.includes(relative) ? [own, 'cluster'] : [own];
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** True when a Redis answers PING (+PONG, or an error such as NOAUTH: something that speaks Redis is there). */
function redisAnswers(url: string): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = portOf(url);
  const tls = parsed.protocol === 'rediss:';
  return new Promise((resolve) => {
    // Reachability only: the tests themselves verify certificates as they are configured to.
    const socket: Socket = tls ? connectTls({ host, port, servername: host, rejectUnauthorized: false }) : connect(port, host);
    const done = (up: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(up);
    };
    const timer = setTimeout(() => done(false), REDIS_TIMEOUT_MS);
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(/^[+-]/.test(chunk.toString('latin1'))));
    socket.once('error', () => done(false));
  });
}

function portOf(url: string): number {
  try {
    return Number(new URL(url).port || 6379);
  } catch {
    return 6379;
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && executable(path.join(dir, command)));
}
