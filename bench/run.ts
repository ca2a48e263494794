// npm run bench: perf-bff (X) against the lean limit (L: the chat path's own work and nothing
// else), a bare node:http pass-through (P) and the Perf stand-in direct, side by side in one run.
// See bench/README.md for how to read the table.
//
//   npm run bench                 the full run (~2.5 min): table + bench/results.json
//   npm run bench -- --profile    only the throughput rounds, with X under node --cpu-prof;
//                                 the profile lands in bench/profiles/ and is summarised
//   npm run bench -- --profile=streams   the same for the 500-streams phase
//   npm run bench -- --quick      only throughput and latency (P, L, X): for measuring one change
//
// tsconfig.bench.json compiles this to dist-bench/bench/run.js, with the children beside it.
// X itself is the production build, `node dist/server.js`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { createPasswordHasher } from '../src/auth/passwords';
import type { Scenario } from '../src/dev/perf-stand-in';
import { createLogger } from '../src/infra/logger';
import { createStoreClient } from '../src/stores/redis-client';
import { RedisUserStore } from '../src/stores/user-store';
import { RedisRoundTripCounter } from '../test/helpers/redis-round-trips';
import type {
  ClientJob,
  ClientMessage,
  FirstByteResult,
  JobMessage,
  JobResults,
  LoadResult,
  SlowReaderResult,
  StreamsResult,
  Target,
} from './client';
import {
  forkModule,
  freePort,
  cpuMicros,
  isMessage,
  killAllNow,
  logsDir,
  nextMessage,
  pidOf,
  rssBytes,
  sleep,
  startProcess,
  stopAll,
  stopProcess,
  waitForPort,
  which,
} from './lib/procs';
import type { Tracked } from './lib/procs';
import { printProfileSummary, summarizeProfile } from './lib/profile-summary';
import { startMonitor } from './lib/redis-monitor';
import type { CommandCount } from './lib/redis-monitor';
import { loadRows, median, renderTable, tableRows } from './lib/report';
import type { Figures, FirstByteFigure, LatencyFigure, PeakFigure, RedisFigure, SlowReaderFigure, StreamsFigure } from './lib/report';
import type { DefaultsMessage, StandInMessage } from './stand-in';

// This file runs as dist-bench/bench/run.js: the repository is two folders up, and the logs,
// profiles, results and wrk script stay in the source folder bench/.
const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.join(ROOT, 'bench');
const PROFILES_DIR = path.join(BENCH_DIR, 'profiles');

const profileArg = process.argv.find((a) => a === '--profile' || a.startsWith('--profile='));
const PROFILE = profileArg !== undefined;
// --profile (the throughput rounds) or --profile=streams (the 500 streams).
const PROFILE_PHASE = profileArg?.split('=')[1] ?? 'peak';
const QUICK = process.argv.includes('--quick');

const env = process.env;
const S = {
  rounds: Number(env.BENCH_ROUNDS ?? 3),
  warmupMs: 3000,
  peakMs: Number(env.BENCH_PEAK_MS ?? 5000),
  peakConnections: Number(env.BENCH_CONNECTIONS ?? 64),
  latencyMs: 4000,
  ttfbCount: 150,
  streams: 500,
  // Long enough (~6 s) that all 500 are open at once even when opening them takes seconds.
  streamWords: 300,
  chunkDelayMs: 20,
  slowBytes: 100 * 1024 * 1024,
  slowHoldMs: 4000,
  redisJson: 50,
  redisStream: 20,
};
const SHORT_REPLY = 'Hello from the Perf stand-in, answering at once.';
const TARGETS = {
  /** X/L */
  peakRatio: 0.75,
  addedP50Ms: 0.6,
  addedTtfbMs: 2,
  rssPerStream: 48 * 1024,
  slowGrowth: 16 * 1024 * 1024,
  redisRoundTrips: 2,
};
// The children get this environment only (plus their own settings): nothing of the caller's leaks in.
const BASE_ENV = { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? os.tmpdir() };

const t0 = Date.now();
const say = (text: string): void => {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${text}\n`);
};

type ProxyName = 'P' | 'X';
/** The throughput and latency rounds also measure L. */
type LoadName = ProxyName | 'L';

interface Targets {
  xJson: Target<'X'>;
  xStream: Target<'X'>;
  lJson: Target<'L'>;
  pJson: Target<'P'>;
  pStream: Target<'P'>;
  direct: Target<'direct'>;
}

/** Bench-local credentials, random per run and never printed. */
interface Secrets {
  perfKey: string;
  sessionSecret: string;
  username: string;
  password: string;
  prefix: string;
}

/** What starting (and restarting) P and X needs. */
interface Launch {
  secrets: Secrets;
  logs: string;
  childEnv: NodeJS.ProcessEnv;
  standInUrl: string;
  redisUrl: string;
  pPort: number;
  lPort: number;
  xPort: number;
}

type StreamRound = StreamsResult & { rss_before: number; rss_peak: number; rss_per_stream: number };
type SlowRound = SlowReaderResult & { rss_before: number; rss_peak: number; growth: number };

/** Every round's measurements as they came, by target name: `raw` in results.json. */
interface Raw {
  peak?: Record<LoadName, LoadResult[]>;
  latency?: Record<LoadName, LoadResult[]>;
  ttfb?: Record<ProxyName | 'direct', FirstByteResult[]>;
  streams?: Record<ProxyName, StreamRound[]>;
  slowReader?: Record<ProxyName, SlowRound>;
}

/** What the phases share: the running processes, the targets, and the raw measurements. */
interface Bench {
  loadBefore: number;
  loadgen: string;
  wrk: string | undefined;
  redisPort: number;
  launch: Launch;
  /** Replaced when a proxy is restarted. */
  proxies: Record<ProxyName, Tracked>;
  lean: Tracked;
  standIn: Tracked;
  client: Tracked;
  targets: Targets;
  /** When X was first started: profiles older than that belong to an earlier run. */
  profileStart: number;
  seq: { scenario: number; job: number };
  raw: Raw;
}

type ResultMessage = Extract<ClientMessage, { type: 'result' }>;
type StandInOk = Extract<StandInMessage, { type: 'ok' }>;

/** The phases, in order; with --profile, one of them under the CPU profiler instead. */
async function main(): Promise<void> {
  const bench = await startBench();
  if (PROFILE) {
    await profileOnePhase(bench);
    return;
  }
  const peak = await measurePeak(bench);
  const latency = await measureLatency(bench);
  if (QUICK) {
    process.stdout.write(`\n${renderTable(loadRows(peak, latency))}\n`);
    return;
  }
  const ttfb = await measureFirstByte(bench);
  const streams = await measureStreams(bench);
  const slowReader = await measureSlowReader(bench);
  const redis = await countRedisRoundTrips(bench);
  report(bench, { loadgen: bench.loadgen, peak, latency, ttfb, streams, slowReader, redis });
}

// ---- Setup ----------------------------------------------------------------------------------

/** Starts Redis, the stand-in, P, X and the client, signs in, and checks every target answers. */
async function startBench(): Promise<Bench> {
  const { loadBefore, redisServer, wrk } = preflight();
  const logs = logsDir(BENCH_DIR);
  const secrets = newSecrets();
  const [redisPort, standInPort, pPort, lPort, xPort] = [
    await freePort(6390),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  say(`starting redis-server on 127.0.0.1:${redisPort}, the stand-in, P, L and X (logs in bench/logs/)`);
  const redisUrl = await startRedis(redisServer, redisPort, logs);
  await createUser(redisUrl, secrets);
  const childEnv = { ...BASE_ENV, BENCH_PERF_KEY: secrets.perfKey };
  const { standIn, standInUrl } = await startStandIn(standInPort, childEnv, logs);
  const launch: Launch = { secrets, logs, childEnv, standInUrl, redisUrl, pPort, lPort, xPort };
  const P = await startP(launch);
  const lean = await startL(launch);
  const profileStart = Date.now();
  const X = await startX(launch, redisUrl);
  const client = forkModule('client', path.join(__dirname, 'client.js'), [], { env: BASE_ENV, logFile: path.join(logs, 'client.log') });
  await nextMessage(client, (m) => isMessage<ClientMessage>(m, 'ready'));
  const cookie = await login(`http://127.0.0.1:${xPort}`, secrets.username, secrets.password);
  const bench: Bench = {
    loadBefore,
    loadgen: wrk === undefined ? 'node client (wrk unavailable)' : 'wrk',
    wrk,
    redisPort,
    launch,
    proxies: { P, X },
    lean,
    standIn,
    client,
    targets: targetsFor(launch, cookie),
    profileStart,
    seq: { scenario: 0, job: 0 },
    raw: {},
  };
  await checkAnswers(bench);
  return bench;
}

/** Refuses to start without dist/ or redis-server; warns when the machine is already busy. */
function preflight(): { loadBefore: number; redisServer: string; wrk: string | undefined } {
  if (PROFILE && PROFILE_PHASE !== 'peak' && PROFILE_PHASE !== 'streams')
    throw new Error(`--profile=${PROFILE_PHASE}: the phases that can be profiled are peak (the default) and streams`);
  const loadBefore = os.loadavg()[0] ?? 0;
  if (loadBefore > os.cpus().length * 0.5) {
    say(`warning: the machine is already busy (1-min load ${loadBefore.toFixed(1)} on ${os.cpus().length} CPUs): expect noisy figures`);
  }
  if (!existsSync(path.join(ROOT, 'dist', 'server.js')))
    throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');
  const redisServer = ensureTool('redis-server', 'redis-server');
  if (redisServer === undefined) throw new Error('redis-server is not installed and could not be installed');
  return { loadBefore, redisServer, wrk: ensureTool('wrk', 'wrk') };
}

/** wrk from Debian's package when it is missing (we are root on the bench machines); else the Node client. */
function ensureTool(command: string, aptPackage: string): string | undefined {
  const found = which(command);
  if (found !== undefined) return found;
  if (process.getuid?.() === 0 && which('apt-get') !== undefined) {
    say(`${command} is missing: apt-get install ${aptPackage}`);
    for (const attempt of [
      ['install', '-y', '-q', aptPackage],
      ['update', '-q'],
      ['install', '-y', '-q', aptPackage],
    ]) {
      try {
        execFileSync('apt-get', attempt, { stdio: 'ignore', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
        if (attempt[0] === 'install') break;
      } catch {
        // try the next step (an update first, then the install again)
      }
    }
  }
  return which(command);
}

function newSecrets(): Secrets {
  return {
    perfKey: `pk_test_bench${randomBytes(12).toString('hex')}`,
    sessionSecret: randomBytes(36).toString('base64url'),
    username: 'bench',
    password: randomBytes(18).toString('base64url'),
    prefix: 'bench:',
  };
}

/** The bench's own Redis, without persistence; returns its URL. */
async function startRedis(redisServer: string, port: number, logs: string): Promise<string> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const redis = startProcess('redis', redisServer, args, { env: BASE_ENV, logFile: path.join(logs, 'redis.log') });
  await waitForPort(port, redis);
  return `redis://127.0.0.1:${port}`;
}

/** The bench user, written to Redis the way `npm run users -- add` does. */
async function createUser(redisUrl: string, secrets: Secrets): Promise<void> {
  const redis = createStoreClient({ url: redisUrl, tlsRejectUnauthorized: true }, createLogger('silent'));
  await redis.connect();
  try {
    const passwordHash = await createPasswordHasher().hash(secrets.password);
    await new RedisUserStore(redis, secrets.prefix).put({ username: secrets.username, passwordHash, createdAt: new Date().toISOString() });
  } finally {
    await redis.close();
  }
}

async function startStandIn(port: number, childEnv: NodeJS.ProcessEnv, logs: string): Promise<{ standIn: Tracked; standInUrl: string }> {
  const standIn = forkModule('stand-in', path.join(__dirname, 'stand-in.js'), [String(port)], {
    env: childEnv,
    logFile: path.join(logs, 'stand-in.log'),
  });
  const ready = await nextMessage(standIn, (m) => isMessage<Extract<StandInMessage, { type: 'ready' }>>(m, 'ready'));
  return { standIn, standInUrl: ready.url };
}

async function startP(launch: Launch): Promise<Tracked> {
  const p = forkModule('P', path.join(__dirname, 'passthrough.js'), [String(launch.pPort), launch.standInUrl], {
    env: launch.childEnv,
    logFile: path.join(launch.logs, 'p.log'),
  });
  await nextMessage(p, (m) => isMessage<{ type: 'ready' }>(m, 'ready'));
  return p;
}

/** L: the same Redis, the same session secret and prefix as X, so that X's cookie is L's too. */
async function startL(launch: Launch): Promise<Tracked> {
  const l = forkModule('L', path.join(__dirname, 'lean.js'), [String(launch.lPort), launch.standInUrl, launch.redisUrl], {
    env: { ...launch.childEnv, BENCH_SESSION_SECRET: launch.secrets.sessionSecret, BENCH_PREFIX: launch.secrets.prefix },
    logFile: path.join(launch.logs, 'l.log'),
  });
  await nextMessage(l, (m) => isMessage<{ type: 'ready' }>(m, 'ready'));
  return l;
}

/** X as production runs it: Redis sessions, limits and ledger that never refuse, a quiet log. */
async function startX(launch: Launch, redisUrl: string): Promise<Tracked> {
  if (PROFILE) mkdirSync(PROFILES_DIR, { recursive: true });
  const { secrets, xPort } = launch;
  const x = startProcess(
    'X',
    process.execPath,
    [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES_DIR}`] : []), path.join(ROOT, 'dist', 'server.js')],
    {
      // cwd outside the repo: server.ts loads a .env from its cwd, and a developer's .env must not leak in.
      cwd: os.tmpdir(),
      logFile: path.join(launch.logs, 'x.log'),
      env: {
        ...BASE_ENV,
        NODE_ENV: 'production',
        PORT: String(xPort),
        PERF_API_KEY: secrets.perfKey,
        PERF_BASE_URL: launch.standInUrl,
        SESSION_SECRET: secrets.sessionSecret,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: secrets.prefix,
        RATE_LIMIT_REQUESTS: '1000000',
        RATE_LIMIT_WINDOW_SECONDS: '60',
        MAX_COST_PER_CALL: '0.01',
        DAILY_BUDGET_USD: '1000000',
        LOG_LEVEL: 'warn',
        TRUST_PROXY: '1',
      },
    },
  );
  await waitForReady(`http://127.0.0.1:${xPort}/readyz`, x);
  return x;
}

/**
 * A fresh process, so that memory figures do not depend on what ran before. Sessions live in
 * Redis and the secret stays the same: X's cookie stays valid across restarts.
 */
async function restart(bench: Bench, name: ProxyName, redisUrl = bench.launch.redisUrl): Promise<void> {
  await stopProcess(bench.proxies[name], 10_000);
  bench.proxies[name] = name === 'X' ? await startX(bench.launch, redisUrl) : await startP(bench.launch);
}

function targetsFor(launch: Launch, cookie: string): Targets {
  const xUrl = `http://127.0.0.1:${launch.xPort}`;
  const pUrl = `http://127.0.0.1:${launch.pPort}`;
  const lUrl = `http://127.0.0.1:${launch.lPort}`;
  const perfBody = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
  return {
    xJson: { name: 'X', url: `${xUrl}/api/chat`, body: '{"message":"hi"}', cookie },
    xStream: { name: 'X', url: `${xUrl}/api/chat`, body: '{"message":"hi","stream":true}', cookie },
    lJson: { name: 'L', url: `${lUrl}/api/chat`, body: '{"message":"hi"}', cookie },
    pJson: { name: 'P', url: `${pUrl}/v1/chat`, body: perfBody },
    pStream: { name: 'P', url: `${pUrl}/v1/chat/stream`, body: perfBody },
    direct: {
      name: 'direct',
      url: `${launch.standInUrl}/v1/chat/stream`,
      body: perfBody,
      authorization: `Bearer ${launch.secrets.perfKey}`,
    },
  };
}

// A 401 or a 500 is cheap: figures measured on errors would flatter X, so nothing is measured
// before both proxies answer 200.
async function checkAnswers(bench: Bench): Promise<void> {
  const { xJson, lJson, pJson, xStream, pStream } = bench.targets;
  await scenario(bench, { reply: SHORT_REPLY });
  for (const target of [xJson, lJson, pJson, xStream, pStream]) {
    const { statuses } = await job(bench, { kind: 'sequential', target, count: 3 });
    if (statuses[200] !== 3)
      throw new Error(`${target.name} ${target.url} answered ${JSON.stringify(statuses)} instead of 200s; see bench/logs/`);
  }
}

// ---- Driving the children -------------------------------------------------------------------

/** Switches the stand-in's answer for the requests that follow. */
async function scenario(bench: Bench, defaults: Scenario): Promise<void> {
  bench.seq.scenario += 1;
  const seq = bench.seq.scenario;
  const msg: DefaultsMessage = { type: 'defaults', defaults, seq };
  bench.standIn.child.send(msg);
  await nextMessage(bench.standIn, (m): m is StandInOk => isMessage<StandInOk>(m, 'ok') && m.seq === seq);
}

/** One job in the client process; its result. */
async function job<J extends ClientJob>(bench: Bench, spec: J): Promise<JobResults[J['kind']]> {
  bench.seq.job += 1;
  const id = bench.seq.job;
  const msg: JobMessage = { type: 'job', id, job: spec };
  bench.client.child.send(msg);
  const answer = await nextMessage(bench.client, (m): m is ResultMessage => isMessage<ResultMessage>(m, 'result') && m.id === id, 180_000);
  if ('error' in answer) throw new Error(`client job ${spec.kind}: ${answer.error}`);
  // The client answers a job of this kind with its result (client.ts, runJob).
  return answer.result as JobResults[J['kind']];
}

/** Throughput and latency load: wrk when it is installed, else the client's closed loop. */
function load(bench: Bench, target: Target, connections: number, durationMs: number): Promise<LoadResult> {
  return bench.wrk === undefined
    ? job(bench, { kind: 'load', target, connections, durationMs })
    : runWrk(bench.wrk, target, connections, durationMs);
}

function runWrk(wrk: string, target: Target, connections: number, durationMs: number): Promise<LoadResult> {
  const args = [
    '-t',
    '1',
    '-c',
    String(connections),
    '-d',
    `${Math.round(durationMs / 1000)}s`,
    '--timeout',
    '10s',
    '-s',
    path.join(BENCH_DIR, 'wrk', 'post.lua'),
    target.url,
  ];
  const entry = startProcess('wrk', wrk, args, { env: { ...BASE_ENV, BENCH_BODY: target.body, BENCH_COOKIE: target.cookie ?? '' } });
  let out = '';
  let err = '';
  entry.child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  entry.child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    entry.child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || line === undefined) reject(new Error(`wrk failed (code ${code}): ${err.trim() || out.trim()}`));
      // post.lua prints exactly this shape.
      else resolve(JSON.parse(line.slice('BENCH_JSON '.length)) as LoadResult);
    });
  });
}

/** Runs `rounds` rounds over the targets, alternating their order, and groups results by name. */
async function interleave<N extends string, R>(
  rounds: number,
  targets: readonly Target<N>[],
  measure: (target: Target<N>) => Promise<R>,
): Promise<Record<N, R[]>> {
  const out: Partial<Record<N, R[]>> = {};
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const result = await measure(target);
      (out[target.name] ??= []).push(result);
    }
  }
  // Every target has had its rounds.
  return out as Record<N, R[]>;
}

/** Highest RSS of a process, sampled every 25 ms until stop(). */
function sampleRss(pid: number): { stop(): number } {
  let max = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssBytes(pid));
    } catch {
      // the process is gone; the run fails elsewhere
    }
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, rssBytes(pid));
    },
  };
}

// ---- The measured phases --------------------------------------------------------------------

/** 1. Peak throughput, JSON answers. */
async function measurePeak(bench: Bench): Promise<PeakFigure> {
  const { pJson, lJson, xJson } = bench.targets;
  say(
    `warm-up, then peak throughput: ${S.rounds} rounds of ${S.peakMs / 1000} s each for P, L and X, ${S.peakConnections} connections (${bench.loadgen})`,
  );
  for (const target of [pJson, lJson, xJson]) await load(bench, target, S.peakConnections, S.warmupMs);
  const processOf = { P: bench.proxies.P, L: bench.lean, X: bench.proxies.X };
  const cpuPerRequest: Record<'P' | 'L' | 'X', number[]> = { P: [], L: [], X: [] };
  const raw = await interleave(S.rounds, [pJson, lJson, xJson], async (t) => {
    const pid = pidOf(processOf[t.name]);
    const before = cpuMicros(pid);
    const result = await load(bench, t, S.peakConnections, S.peakMs);
    cpuPerRequest[t.name].push((cpuMicros(pid) - before) / Math.max(1, result.requests));
    return result;
  });
  bench.raw.peak = raw;
  const [pCpu, lCpu, xCpu] = [median(cpuPerRequest.P), median(cpuPerRequest.L), median(cpuPerRequest.X)];
  const rps = (r: LoadResult): number => r.requests / (r.duration_us / 1e6);
  const errorsOf = (rounds: LoadResult[]): number =>
    rounds.reduce((sum, r) => sum + r.connect + r.read + r.write + r.status + r.timeout, 0);
  const [pRps, lRps, xRps] = [median(raw.P.map(rps)), median(raw.L.map(rps)), median(raw.X.map(rps))];
  const peak: PeakFigure = {
    connections: S.peakConnections,
    p_rps: pRps,
    l_rps: lRps,
    x_rps: xRps,
    p_errors: errorsOf(raw.P),
    l_errors: errorsOf(raw.L),
    x_errors: errorsOf(raw.X),
    ratio: xRps / pRps,
    x_l: xRps / lRps,
    l_p: lRps / pRps,
    p_cpu_us: pCpu,
    l_cpu_us: lCpu,
    x_cpu_us: xCpu,
    met: xRps / lRps >= TARGETS.peakRatio && errorsOf(raw.X) === 0,
  };
  say(
    `  P ${pRps.toFixed(0)} req/s, L ${lRps.toFixed(0)} req/s, X ${xRps.toFixed(0)} req/s: X/L ${peak.x_l.toFixed(2)}, L/P ${peak.l_p.toFixed(2)}`,
  );
  say(`  CPU per request: P ${pCpu.toFixed(0)} µs, L ${lCpu.toFixed(0)} µs, X ${xCpu.toFixed(0)} µs: L/X ${(lCpu / xCpu).toFixed(2)}`);
  return peak;
}

/** 2. Latency at concurrency 1: what X adds to a call when the machine is not saturated. */
async function measureLatency(bench: Bench): Promise<LatencyFigure> {
  const { pJson, lJson, xJson } = bench.targets;
  say(`latency at concurrency 1: ${S.rounds} rounds of ${S.latencyMs / 1000} s each`);
  const raw = await interleave(S.rounds, [pJson, lJson, xJson], (t) => load(bench, t, 1, S.latencyMs));
  bench.raw.latency = raw;
  const lat = (name: LoadName, key: 'p50_us' | 'p99_us'): number => median(raw[name].map((r) => r[key] / 1000));
  const [pP50, lP50, xP50, pP99, xP99] = [
    lat('P', 'p50_us'),
    lat('L', 'p50_us'),
    lat('X', 'p50_us'),
    lat('P', 'p99_us'),
    lat('X', 'p99_us'),
  ];
  const latency: LatencyFigure = {
    p_p50_ms: pP50,
    l_p50_ms: lP50,
    x_p50_ms: xP50,
    p_p99_ms: pP99,
    x_p99_ms: xP99,
    added_p50_ms: xP50 - pP50,
    added_p99_ms: xP99 - pP99,
    met: xP50 - pP50 <= TARGETS.addedP50Ms,
  };
  say(`  p50 P ${pP50.toFixed(2)} ms, L ${lP50.toFixed(2)} ms, X ${xP50.toFixed(2)} ms`);
  return latency;
}

/** 3. Time to first byte of a stream that Perf starts at once. */
async function measureFirstByte(bench: Bench): Promise<FirstByteFigure> {
  const { direct, pStream, xStream } = bench.targets;
  say(`stream first byte: ${S.rounds} rounds of ${S.ttfbCount} sequential streams each, direct / P / X`);
  for (const target of [direct, pStream, xStream]) await job(bench, { kind: 'ttfb', target, count: 30 });
  const raw = await interleave(S.rounds, [direct, pStream, xStream], (t) => job(bench, { kind: 'ttfb', target: t, count: S.ttfbCount }));
  bench.raw.ttfb = raw;
  const p50 = (rounds: readonly FirstByteResult[]): number => median(rounds.map((r) => r.p50_ms));
  const [directMs, pMs, xMs] = [p50(raw.direct), p50(raw.P), p50(raw.X)];
  const ttfb: FirstByteFigure = {
    direct_ms: directMs,
    p_ms: pMs,
    x_ms: xMs,
    added_ms: xMs - directMs,
    met: xMs - directMs <= TARGETS.addedTtfbMs,
  };
  say(`  direct ${ttfb.direct_ms.toFixed(2)} ms, P ${ttfb.p_ms.toFixed(2)} ms, X ${ttfb.x_ms.toFixed(2)} ms`);
  return ttfb;
}

/** 4. Many open streams at once: events lost, gaps between chunks, memory per open stream. */
async function measureStreams(bench: Bench): Promise<StreamsFigure> {
  const { pStream, xStream } = bench.targets;
  const words = Array.from({ length: S.streamWords }, (_, i) => `w${i}`).join(' ');
  const expectEvents = S.streamWords + 3; // role, one per word, stop, [DONE]
  const streamRounds = Math.min(S.rounds, 2);
  await scenario(bench, { reply: words, chunkDelayMs: S.chunkDelayMs });
  say(
    `${S.streams} concurrent streams, a chunk every ${S.chunkDelayMs} ms: ${streamRounds} rounds for P and X, each on a fresh process warmed up by ${S.streams} streams`,
  );
  const raw = await interleave(streamRounds, [pStream, xStream], (t) => streamRound(bench, t, expectEvents));
  bench.raw.streams = raw;
  const streams = streamsFigure(raw, expectEvents);
  say(
    `  X ${streams.x_complete}/${S.streams} complete, RSS/stream X ${(streams.x_rss_per_stream / 1024).toFixed(1)} KB, P ${(streams.p_rss_per_stream / 1024).toFixed(1)} KB`,
  );
  return streams;
}

/**
 * Fresh, then one unmeasured round: the figure is what 500 open streams cost a process that has
 * already grown its heap for them (V8's young generation grows once under load), not what the
 * earlier phases left behind.
 */
async function streamRound(bench: Bench, target: Target<ProxyName>, expectEvents: number): Promise<StreamRound> {
  await restart(bench, target.name);
  await job(bench, { kind: 'streams', target, count: S.streams, expectEvents });
  const pid = pidOf(bench.proxies[target.name]);
  await sleep(300);
  const before = rssBytes(pid);
  const sampler = sampleRss(pid);
  const result = await job(bench, { kind: 'streams', target, count: S.streams, expectEvents });
  const peakRss = sampler.stop();
  return { ...result, rss_before: before, rss_peak: peakRss, rss_per_stream: (peakRss - before) / S.streams };
}

function streamsFigure(raw: Record<ProxyName, StreamRound[]>, expectEvents: number): StreamsFigure {
  const least = (name: ProxyName, key: 'complete' | 'events_received' | 'most_open_at_once'): number =>
    Math.min(...raw[name].map((r) => r[key]));
  const most = (name: ProxyName, key: 'largest_gap_ms' | 'largest_gap_after_all_open_ms'): number =>
    Math.max(...raw[name].map((r) => r[key]));
  const mid = (name: ProxyName, key: 'all_open_after_ms' | 'rss_per_stream'): number => median(raw[name].map((r) => r[key]));
  const figure = {
    count: S.streams,
    chunk_delay_ms: S.chunkDelayMs,
    events_expected: expectEvents * S.streams,
    x_complete: least('X', 'complete'),
    p_complete: least('P', 'complete'),
    x_events_received: least('X', 'events_received'),
    x_largest_gap_ms: most('X', 'largest_gap_ms'),
    p_largest_gap_ms: most('P', 'largest_gap_ms'),
    x_largest_gap_after_open_ms: most('X', 'largest_gap_after_all_open_ms'),
    p_largest_gap_after_open_ms: most('P', 'largest_gap_after_all_open_ms'),
    x_all_open_ms: mid('X', 'all_open_after_ms'),
    p_all_open_ms: mid('P', 'all_open_after_ms'),
    x_rss_per_stream: mid('X', 'rss_per_stream'),
    p_rss_per_stream: mid('P', 'rss_per_stream'),
    x_most_open: least('X', 'most_open_at_once'),
    p_most_open: least('P', 'most_open_at_once'),
  };
  const lossless = figure.x_complete === S.streams && figure.x_events_received === figure.events_expected;
  // RSS per stream means something only if all of them were open at the same time.
  const rssMet = figure.x_most_open === S.streams && figure.x_rss_per_stream <= TARGETS.rssPerStream;
  return { ...figure, lossless, rss_met: rssMet, met: lossless && rssMet };
}

/** 5. A reader that stops while Perf pushes 100 MB: a proxy that buffers grows by ~100 MB. */
async function measureSlowReader(bench: Bench): Promise<SlowReaderFigure> {
  await scenario(bench, { paddingBytes: S.slowBytes });
  say(
    `slow reader: Perf streams ${S.slowBytes / 1024 / 1024} MB, the client stops reading after the first chunk for ${S.slowHoldMs / 1000} s (P, then X)`,
  );
  const P = await slowRound(bench, bench.targets.pStream);
  const X = await slowRound(bench, bench.targets.xStream);
  bench.raw.slowReader = { P, X };
  const slowReader: SlowReaderFigure = {
    upstream_bytes: S.slowBytes,
    x_growth: X.growth,
    p_growth: P.growth,
    met: X.status === 200 && X.growth <= TARGETS.slowGrowth,
  };
  say(`  RSS growth X ${(slowReader.x_growth / 1048576).toFixed(1)} MB, P ${(slowReader.p_growth / 1048576).toFixed(1)} MB`);
  await sleep(500);
  return slowReader;
}

async function slowRound(bench: Bench, target: Target<ProxyName>): Promise<SlowRound> {
  const pid = pidOf(bench.proxies[target.name]);
  await sleep(300);
  const before = rssBytes(pid);
  const sampler = sampleRss(pid);
  const result = await job(bench, { kind: 'slowReader', target, holdMs: S.slowHoldMs });
  const peakRss = sampler.stop();
  return { ...result, rss_before: before, rss_peak: peakRss, growth: peakRss - before };
}

/**
 * 6. Redis round trips per chat request. X is restarted behind a relay that counts request
 * flights (pipelined commands sent together are one trip); MONITOR adds the commands seen.
 */
async function countRedisRoundTrips(bench: Bench): Promise<RedisFigure> {
  const { xJson, xStream } = bench.targets;
  say(`Redis round trips: a counting relay and MONITOR during ${S.redisJson} JSON and ${S.redisStream} streamed chats, one at a time`);
  const relay = new RedisRoundTripCounter({ host: '127.0.0.1', port: bench.redisPort });
  const relayUrl = await relay.listen();
  await restart(bench, 'X', relayUrl);
  await scenario(bench, { reply: SHORT_REPLY });
  await job(bench, { kind: 'sequential', target: xJson, count: 3 }); // loads the Lua scripts
  const jsonCount = await countChats(bench, relay, xJson, S.redisJson);
  const streamCount = await countChats(bench, relay, xStream, S.redisStream);
  await relay.close();
  const figure = {
    json_requests: S.redisJson,
    json_per_request: jsonCount.flights / S.redisJson,
    json_commands_per_request: jsonCount.roundTrips / S.redisJson,
    json_by_command: jsonCount.byCommand,
    stream_requests: S.redisStream,
    stream_per_request: streamCount.flights / S.redisStream,
    stream_commands_per_request: streamCount.roundTrips / S.redisStream,
    stream_by_command: streamCount.byCommand,
  };
  return { ...figure, met: Math.max(figure.json_per_request, figure.stream_per_request) <= TARGETS.redisRoundTrips };
}

/** `n` chats one at a time: the relay's flights and MONITOR's commands meanwhile. */
async function countChats(
  bench: Bench,
  relay: RedisRoundTripCounter,
  target: Target,
  n: number,
): Promise<CommandCount & { flights: number }> {
  const monitor = await startMonitor(bench.redisPort);
  relay.flights = 0;
  const { statuses } = await job(bench, { kind: 'sequential', target, count: n });
  await sleep(200);
  const seen = monitor.stop();
  if (statuses[200] !== n) throw new Error(`Redis count: ${target.name} answered ${JSON.stringify(statuses)}`);
  return { ...seen, flights: relay.flights };
}

// ---- Report ---------------------------------------------------------------------------------

/** The table on stdout; the same figures, the raw rounds and the machine in bench/results.json. */
function report(bench: Bench, figures: Figures): void {
  const table = renderTable(tableRows(figures));
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(
    `\nperf-bff bench, ${new Date().toISOString()}, ${os.cpus().length} CPUs, Node ${process.version}, load generator: ${bench.loadgen}; medians of ${S.rounds} interleaved rounds; 1-min load before ${bench.loadBefore.toFixed(1)}\n\n${table}\n\n`,
  );
  const met = [figures.peak, figures.latency, figures.ttfb, figures.streams, figures.slowReader, figures.redis].filter((f) => f.met).length;
  process.stdout.write(`${met} of 6 targets met; ran in ${seconds.toFixed(0)} s. Written to bench/results.json.\n`);
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      load_1min_before: bench.loadBefore,
      load_1min_after: os.loadavg()[0],
    },
    loadgen: bench.loadgen,
    settings: S,
    targets: TARGETS,
    figures,
    table: table.split('\n'),
    raw: bench.raw,
    seconds,
  };
  writeFileSync(path.join(BENCH_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

// ---- CPU profile ----------------------------------------------------------------------------

/** --profile: one phase with X under --cpu-prof, then its summary. */
async function profileOnePhase(bench: Bench): Promise<void> {
  const figure = PROFILE_PHASE === 'streams' ? { streams: await measureStreams(bench) } : { peak: await measurePeak(bench) };
  await finishProfile(bench, figure);
}

/** X writes its profile only when it exits: stop it, then summarise the newest profile. */
async function finishProfile(bench: Bench, extra: Partial<Figures>): Promise<void> {
  say('stopping X to write its CPU profile');
  await stopProcess(bench.proxies.X, 10_000);
  const newest = readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(PROFILES_DIR, f))
    .filter((f) => statSync(f).mtimeMs >= bench.profileStart)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (newest === undefined) throw new Error('X wrote no CPU profile');
  const summary = summarizeProfile(newest);
  process.stdout.write(
    `\n${printProfileSummary(summary)}\n\nOpen ${path.relative(ROOT, newest)} in Chrome DevTools (Performance tab) or speedscope for the flame graph.\n`,
  );
  writeFileSync(path.join(PROFILES_DIR, 'summary.json'), `${JSON.stringify({ phase: PROFILE_PHASE, ...extra, summary }, null, 2)}\n`);
}

// ---- Small helpers --------------------------------------------------------------------------

async function waitForReady(url: string, entry: Tracked, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (entry.exited) throw new Error(`X exited (code ${entry.code}) while starting; see bench/logs/x.log`);
    try {
      const res = await httpRequest('GET', url, { 'x-forwarded-proto': 'https' });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms; see bench/logs/x.log`);
}

/** Signs in as the bench user and returns the session cookie (name=value). */
async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await httpRequest(
    'POST',
    `${baseUrl}/auth/login`,
    { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    JSON.stringify({ username, password }),
  );
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}`);
  const cookie = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-perf-bff.sid='));
  if (cookie === undefined) throw new Error('sign-in set no __Host-perf-bff.sid cookie');
  return cookie.split(';')[0] ?? cookie;
}

/** One small request, answer read whole (no keep-alive: the bench's own agents do the load). */
function httpRequest(
  method: string,
  url: string,
  headers: http.OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number | undefined; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- Process life ---------------------------------------------------------------------------

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(130));

main().then(
  () => shutdown(0),
  (err: unknown) => {
    if (stopping) return;
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    void shutdown(1);
  },
);
