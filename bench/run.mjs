// npm run bench: perf-bff (X) against a bare node:http pass-through (P) and the Perf stand-in
// direct, side by side in one run. See bench/README.md for how to read the table.
//
//   npm run bench                 the full run (~2.5 min): table + bench/results.json
//   npm run bench -- --profile    only the throughput rounds, with X under node --cpu-prof;
//                                 the profile lands in bench/profiles/ and is summarised
//   npm run bench -- --profile=streams   the same for the 500-streams phase
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import {
  forkModule,
  freePort,
  killAllNow,
  logsDir,
  nextMessage,
  rssBytes,
  sleep,
  startProcess,
  stopAll,
  stopProcess,
  waitForPort,
  which,
} from './lib/procs.mjs';
import { printProfileSummary, summarizeProfile } from './lib/profile-summary.mjs';
import { startMonitor } from './lib/redis-monitor.mjs';
import { median, renderTable, tableRows } from './lib/report.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);
const require = createRequire(import.meta.url);
const profileArg = process.argv.find((a) => a === '--profile' || a.startsWith('--profile='));
const PROFILE = profileArg !== undefined;
// --profile (the throughput rounds) or --profile=streams (the 500 streams).
const PROFILE_PHASE = profileArg?.split('=')[1] ?? 'peak';
const want = (phase) => !PROFILE || phase === PROFILE_PHASE;

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
const TARGETS = { peakRatio: 0.4, addedP50Ms: 1, addedTtfbMs: 2, rssPerStream: 48 * 1024, slowGrowth: 16 * 1024 * 1024, redisRoundTrips: 3 };

const t0 = Date.now();
const say = (text) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${text}\n`);

/** wrk from Debian's package when it is missing (we are root on the bench machines); else the Node client. */
function ensureTool(command, aptPackage) {
  if (which(command) !== undefined) return which(command);
  if (process.getuid?.() === 0 && which('apt-get') !== undefined) {
    say(`${command} is missing: apt-get install ${aptPackage}`);
    for (const attempt of [['install', '-y', '-q', aptPackage], ['update', '-q'], ['install', '-y', '-q', aptPackage]]) {
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

async function main() {
  const loadBefore = os.loadavg()[0];
  if (loadBefore > os.cpus().length * 0.5) {
    say(`warning: the machine is already busy (1-min load ${loadBefore.toFixed(1)} on ${os.cpus().length} CPUs): expect noisy figures`);
  }
  if (!existsSync(path.join(root, 'dist', 'server.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');
  const redisServer = ensureTool('redis-server', 'redis-server');
  if (redisServer === undefined) throw new Error('redis-server is not installed and could not be installed');
  const wrk = ensureTool('wrk', 'wrk');
  const loadgen = wrk === undefined ? 'node client (wrk unavailable)' : 'wrk';
  const logs = logsDir(benchDir);
  const profilesDir = path.join(benchDir, 'profiles');

  // Bench-local credentials, random per run and never printed.
  const perfKey = `pk_test_bench${randomBytes(12).toString('hex')}`;
  const sessionSecret = randomBytes(36).toString('base64url');
  const username = 'bench';
  const password = randomBytes(18).toString('base64url');
  const prefix = 'bench:';

  const redisPort = await freePort(6390);
  const standInPort = await freePort();
  const pPort = await freePort();
  const xPort = await freePort();
  const baseEnv = { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? os.tmpdir() };

  say(`starting redis-server on 127.0.0.1:${redisPort}, the stand-in, P and X (logs in bench/logs/)`);
  const redis = startProcess('redis', redisServer, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    env: baseEnv,
    logFile: path.join(logs, 'redis.log'),
  });
  await waitForPort(redisPort, redis);
  await createUser(`redis://127.0.0.1:${redisPort}`, prefix, username, password);

  const childEnv = { ...baseEnv, BENCH_PERF_KEY: perfKey };
  const standIn = forkModule('stand-in', path.join(benchDir, 'stand-in.mjs'), [String(standInPort)], { env: childEnv, logFile: path.join(logs, 'stand-in.log') });
  const { url: standInUrl } = await nextMessage(standIn, (m) => m?.type === 'ready');
  const proxies = {};
  const startP = async () => {
    proxies.P = forkModule('P', path.join(benchDir, 'passthrough.mjs'), [String(pPort), standInUrl], { env: childEnv, logFile: path.join(logs, 'p.log') });
    await nextMessage(proxies.P, (m) => m?.type === 'ready');
  };
  await startP();

  if (PROFILE) mkdirSync(profilesDir, { recursive: true });
  const profileStart = Date.now();
  const startX = async (redisUrl = `redis://127.0.0.1:${redisPort}`) => {
    proxies.X = startProcess('X', process.execPath, [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profilesDir}`] : []), path.join(root, 'dist', 'server.js')], {
      // cwd outside the repo: server.ts loads a .env from its cwd, and a developer's .env must not leak in.
      cwd: os.tmpdir(),
      logFile: path.join(logs, 'x.log'),
      env: {
        ...baseEnv,
        NODE_ENV: 'production',
        PORT: String(xPort),
        PERF_API_KEY: perfKey,
        PERF_BASE_URL: standInUrl,
        SESSION_SECRET: sessionSecret,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_REQUESTS: '1000000',
        RATE_LIMIT_WINDOW_SECONDS: '60',
        MAX_COST_PER_CALL: '0.01',
        DAILY_BUDGET_USD: '1000000',
        LOG_LEVEL: 'warn',
        TRUST_PROXY: '1',
      },
    });
    await waitForReady(`http://127.0.0.1:${xPort}/readyz`, proxies.X);
  };
  await startX();
  // A fresh process, so that memory figures do not depend on what ran before. Sessions live in
  // Redis and the secret stays the same: X's cookie stays valid across restarts.
  const restart = async (name) => {
    await stopProcess(proxies[name], 10_000);
    await (name === 'X' ? startX() : startP());
  };

  const client = forkModule('client', path.join(benchDir, 'client.mjs'), [], { env: baseEnv, logFile: path.join(logs, 'client.log') });
  await nextMessage(client, (m) => m?.type === 'ready');
  const cookie = await login(`http://127.0.0.1:${xPort}`, username, password);

  const xUrl = `http://127.0.0.1:${xPort}`;
  const pUrl = `http://127.0.0.1:${pPort}`;
  const perfBody = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
  const T = {
    xJson: { name: 'X', url: `${xUrl}/api/chat`, body: '{"message":"hi"}', cookie },
    xStream: { name: 'X', url: `${xUrl}/api/chat`, body: '{"message":"hi","stream":true}', cookie },
    pJson: { name: 'P', url: `${pUrl}/v1/chat`, body: perfBody },
    pStream: { name: 'P', url: `${pUrl}/v1/chat/stream`, body: perfBody },
    direct: { name: 'direct', url: `${standInUrl}/v1/chat/stream`, body: perfBody, authorization: `Bearer ${perfKey}` },
  };

  let seq = 0;
  const scenario = async (defaults) => {
    seq += 1;
    const mine = seq;
    standIn.child.send({ type: 'defaults', defaults, seq: mine });
    await nextMessage(standIn, (m) => m?.type === 'ok' && m.seq === mine);
  };
  let jobSeq = 0;
  const job = async (spec, onProgress) => {
    jobSeq += 1;
    const id = jobSeq;
    const listener = (m) => {
      if (m?.id === id && m.type !== 'result') onProgress?.(m);
    };
    client.child.on('message', listener);
    client.child.send({ type: 'job', id, job: spec });
    try {
      const answer = await nextMessage(client, (m) => m?.type === 'result' && m.id === id, 180_000);
      if (answer.error !== undefined) throw new Error(`client job ${spec.kind}: ${answer.error}`);
      return answer.result;
    } finally {
      client.child.off('message', listener);
    }
  };
  const load = (target, connections, durationMs) =>
    wrk === undefined ? job({ kind: 'load', target, connections, durationMs }) : runWrk(wrk, target, connections, durationMs, baseEnv);

  // Sanity: both proxies answer 200 before anything is measured.
  await scenario({ reply: SHORT_REPLY });
  for (const target of [T.xJson, T.pJson, T.xStream, T.pStream]) {
    const { statuses } = await job({ kind: 'sequential', target, count: 3 });
    if (statuses[200] !== 3) throw new Error(`${target.name} ${target.url} answered ${JSON.stringify(statuses)} instead of 200s; see bench/logs/`);
  }
  const figures = { loadgen };
  const raw = {};

  const finishProfile = async (extra) => {
    say('stopping X to write its CPU profile');
    await stopProcess(proxies.X, 10_000);
    const newest = readdirSync(profilesDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(profilesDir, f))
      .filter((f) => statSync(f).mtimeMs >= profileStart)
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (newest === undefined) throw new Error('X wrote no CPU profile');
    const summary = summarizeProfile(newest);
    process.stdout.write(`\n${printProfileSummary(summary)}\n\nOpen ${path.relative(root, newest)} in Chrome DevTools (Performance tab) or speedscope for the flame graph.\n`);
    writeFileSync(path.join(profilesDir, 'summary.json'), `${JSON.stringify({ phase: PROFILE_PHASE, ...extra, summary }, null, 2)}\n`);
  };

  // 1. Peak throughput, JSON answers.
  if (want('peak')) {
    say(`warm-up, then peak throughput: ${S.rounds} rounds of ${S.peakMs / 1000} s each for P and X, ${S.peakConnections} connections (${loadgen})`);
    await load(T.pJson, S.peakConnections, S.warmupMs);
    await load(T.xJson, S.peakConnections, S.warmupMs);
    raw.peak = await interleave(S.rounds, [T.pJson, T.xJson], (t) => load(t, S.peakConnections, S.peakMs));
    const rps = (r) => r.requests / (r.duration_us / 1e6);
    const errorsOf = (r) => r.connect + r.read + r.write + r.status + r.timeout;
    const peak = {
      connections: S.peakConnections,
      p_rps: median(raw.peak.P.map(rps)),
      x_rps: median(raw.peak.X.map(rps)),
      p_errors: raw.peak.P.reduce((s, r) => s + errorsOf(r), 0),
      x_errors: raw.peak.X.reduce((s, r) => s + errorsOf(r), 0),
    };
    peak.ratio = peak.x_rps / peak.p_rps;
    peak.met = peak.ratio >= TARGETS.peakRatio && peak.x_errors === 0;
    figures.peak = peak;
    say(`  P ${peak.p_rps.toFixed(0)} req/s, X ${peak.x_rps.toFixed(0)} req/s, X/P ${peak.ratio.toFixed(2)}`);
    if (PROFILE) return finishProfile({ peak });
  }

  // 2. Latency at concurrency 1.
  if (!PROFILE) {
    say(`latency at concurrency 1: ${S.rounds} rounds of ${S.latencyMs / 1000} s each`);
    raw.latency = await interleave(S.rounds, [T.pJson, T.xJson], (t) => load(t, 1, S.latencyMs));
    const lat = (name, key) => median(raw.latency[name].map((r) => r[key] / 1000));
    const latency = { p_p50_ms: lat('P', 'p50_us'), x_p50_ms: lat('X', 'p50_us'), p_p99_ms: lat('P', 'p99_us'), x_p99_ms: lat('X', 'p99_us') };
    latency.added_p50_ms = latency.x_p50_ms - latency.p_p50_ms;
    latency.added_p99_ms = latency.x_p99_ms - latency.p_p99_ms;
    latency.met = latency.added_p50_ms <= TARGETS.addedP50Ms;
    figures.latency = latency;
    say(`  p50 P ${latency.p_p50_ms.toFixed(2)} ms, X ${latency.x_p50_ms.toFixed(2)} ms`);

    // 3. Time to first byte of a stream that Perf starts at once.
    say(`stream first byte: ${S.rounds} rounds of ${S.ttfbCount} sequential streams each, direct / P / X`);
    for (const target of [T.direct, T.pStream, T.xStream]) await job({ kind: 'ttfb', target, count: 30 });
    raw.ttfb = await interleave(S.rounds, [T.direct, T.pStream, T.xStream], (t) => job({ kind: 'ttfb', target: t, count: S.ttfbCount }));
    const ttfb = {
      direct_ms: median(raw.ttfb.direct.map((r) => r.p50_ms)),
      p_ms: median(raw.ttfb.P.map((r) => r.p50_ms)),
      x_ms: median(raw.ttfb.X.map((r) => r.p50_ms)),
    };
    ttfb.added_ms = ttfb.x_ms - ttfb.direct_ms;
    ttfb.met = ttfb.added_ms <= TARGETS.addedTtfbMs;
    figures.ttfb = ttfb;
    say(`  direct ${ttfb.direct_ms.toFixed(2)} ms, P ${ttfb.p_ms.toFixed(2)} ms, X ${ttfb.x_ms.toFixed(2)} ms`);
  }

  // 4. Many open streams at once.
  if (want('streams')) {
    const words = Array.from({ length: S.streamWords }, (_, i) => `w${i}`).join(' ');
    const expectEvents = S.streamWords + 3; // role, one per word, stop, [DONE]
    const streamRounds = Math.min(S.rounds, 2);
    await scenario({ reply: words, chunkDelayMs: S.chunkDelayMs });
    say(`${S.streams} concurrent streams, a chunk every ${S.chunkDelayMs} ms: ${streamRounds} rounds for P and X, each on a fresh process warmed up by ${S.streams} streams`);
    raw.streams = await interleave(streamRounds, [T.pStream, T.xStream], async (t) => {
      // Fresh, then one unmeasured round: the figure is what 500 open streams cost a process
      // that has already grown its heap for them (V8's young generation grows once under load),
      // not what the earlier phases left behind.
      await restart(t.name);
      await job({ kind: 'streams', target: t, count: S.streams, expectEvents });
      const pid = proxies[t.name].child.pid;
      await sleep(300);
      const before = rssBytes(pid);
      const sampler = sampleRss(pid);
      const result = await job({ kind: 'streams', target: t, count: S.streams, expectEvents });
      const peakRss = sampler.stop();
      return { ...result, rss_before: before, rss_peak: peakRss, rss_per_stream: (peakRss - before) / S.streams };
    });
    const streams = {
      count: S.streams,
      chunk_delay_ms: S.chunkDelayMs,
      events_expected: expectEvents * S.streams,
      x_complete: Math.min(...raw.streams.X.map((r) => r.complete)),
      p_complete: Math.min(...raw.streams.P.map((r) => r.complete)),
      x_events_received: Math.min(...raw.streams.X.map((r) => r.events_received)),
      x_largest_gap_ms: Math.max(...raw.streams.X.map((r) => r.largest_gap_ms)),
      p_largest_gap_ms: Math.max(...raw.streams.P.map((r) => r.largest_gap_ms)),
      x_largest_gap_after_open_ms: Math.max(...raw.streams.X.map((r) => r.largest_gap_after_all_open_ms)),
      p_largest_gap_after_open_ms: Math.max(...raw.streams.P.map((r) => r.largest_gap_after_all_open_ms)),
      x_all_open_ms: median(raw.streams.X.map((r) => r.all_open_after_ms)),
      p_all_open_ms: median(raw.streams.P.map((r) => r.all_open_after_ms)),
      x_rss_per_stream: median(raw.streams.X.map((r) => r.rss_per_stream)),
      p_rss_per_stream: median(raw.streams.P.map((r) => r.rss_per_stream)),
      x_most_open: Math.min(...raw.streams.X.map((r) => r.most_open_at_once)),
      p_most_open: Math.min(...raw.streams.P.map((r) => r.most_open_at_once)),
    };
    streams.lossless = streams.x_complete === S.streams && streams.x_events_received === streams.events_expected;
    // RSS per stream means something only if all of them were open at the same time.
    streams.rss_met = streams.x_most_open === S.streams && streams.x_rss_per_stream <= TARGETS.rssPerStream;
    streams.met = streams.lossless && streams.rss_met;
    figures.streams = streams;
    say(`  X ${streams.x_complete}/${S.streams} complete, RSS/stream X ${(streams.x_rss_per_stream / 1024).toFixed(1)} KB, P ${(streams.p_rss_per_stream / 1024).toFixed(1)} KB`);
    if (PROFILE) return finishProfile({ streams });
  }

  // 5. A reader that stops while Perf pushes 100 MB.
  await scenario({ paddingBytes: S.slowBytes });
  say(`slow reader: Perf streams ${S.slowBytes / 1024 / 1024} MB, the client stops reading after the first chunk for ${S.slowHoldMs / 1000} s (P, then X)`);
  raw.slowReader = {};
  for (const target of [T.pStream, T.xStream]) {
    const pid = proxies[target.name].child.pid;
    await sleep(300);
    const before = rssBytes(pid);
    const sampler = sampleRss(pid);
    const result = await job({ kind: 'slowReader', target, holdMs: S.slowHoldMs });
    const peakRss = sampler.stop();
    raw.slowReader[target.name] = { ...result, rss_before: before, rss_peak: peakRss, growth: peakRss - before };
  }
  const slowReader = { upstream_bytes: S.slowBytes, x_growth: raw.slowReader.X.growth, p_growth: raw.slowReader.P.growth };
  slowReader.met = raw.slowReader.X.status === 200 && slowReader.x_growth <= TARGETS.slowGrowth;
  figures.slowReader = slowReader;
  say(`  RSS growth X ${(slowReader.x_growth / 1048576).toFixed(1)} MB, P ${(slowReader.p_growth / 1048576).toFixed(1)} MB`);
  await sleep(500);

  // 6. Redis round trips per chat request. X is restarted behind a relay that counts request
  // flights (pipelined commands sent together are one trip); MONITOR adds the commands seen.
  say(`Redis round trips: a counting relay and MONITOR during ${S.redisJson} JSON and ${S.redisStream} streamed chats, one at a time`);
  const { RedisRoundTripCounter } = require('../dist/dev/redis-round-trips.js');
  const relay = new RedisRoundTripCounter({ host: '127.0.0.1', port: redisPort });
  const relayUrl = await relay.listen();
  await stopProcess(proxies.X, 10_000);
  await startX(relayUrl);
  await scenario({ reply: SHORT_REPLY });
  await job({ kind: 'sequential', target: T.xJson, count: 3 }); // loads the Lua scripts
  const count = async (target, n) => {
    const monitor = await startMonitor(redisPort);
    relay.flights = 0;
    const { statuses } = await job({ kind: 'sequential', target, count: n });
    await sleep(200);
    const seen = monitor.stop();
    if (statuses[200] !== n) throw new Error(`Redis count: ${target.name} answered ${JSON.stringify(statuses)}`);
    return { ...seen, flights: relay.flights };
  };
  const jsonCount = await count(T.xJson, S.redisJson);
  const streamCount = await count(T.xStream, S.redisStream);
  await relay.close();
  const redisFig = {
    json_requests: S.redisJson,
    json_per_request: jsonCount.flights / S.redisJson,
    json_commands_per_request: jsonCount.roundTrips / S.redisJson,
    json_by_command: jsonCount.byCommand,
    stream_requests: S.redisStream,
    stream_per_request: streamCount.flights / S.redisStream,
    stream_commands_per_request: streamCount.roundTrips / S.redisStream,
    stream_by_command: streamCount.byCommand,
  };
  redisFig.met = Math.max(redisFig.json_per_request, redisFig.stream_per_request) <= TARGETS.redisRoundTrips;
  figures.redis = redisFig;

  const table = renderTable(tableRows(figures));
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(
    `\nperf-bff bench, ${new Date().toISOString()}, ${os.cpus().length} CPUs, Node ${process.version}, load generator: ${loadgen}; medians of ${S.rounds} interleaved rounds; 1-min load before ${loadBefore.toFixed(1)}\n\n${table}\n\n`,
  );
  const met = ['peak', 'latency', 'ttfb', 'streams', 'slowReader', 'redis'].filter((k) => figures[k].met).length;
  process.stdout.write(`${met} of 6 targets met; ran in ${seconds.toFixed(0)} s. Written to bench/results.json.\n`);
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, load_1min_before: loadBefore, load_1min_after: os.loadavg()[0] },
    loadgen,
    settings: S,
    targets: TARGETS,
    figures,
    table: table.split('\n'),
    raw,
    seconds,
  };
  writeFileSync(path.join(benchDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

/** Runs `rounds` rounds over the targets, alternating their order, and groups results by name. */
async function interleave(rounds, targets, measure) {
  const out = {};
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const result = await measure(target);
      (out[target.name] ??= []).push(result);
    }
  }
  return out;
}

/** Highest RSS of a process, sampled every 25 ms until stop(). */
function sampleRss(pid) {
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

function runWrk(wrk, target, connections, durationMs, baseEnv) {
  const entry = startProcess('wrk', wrk, ['-t', '1', '-c', String(connections), '-d', `${Math.round(durationMs / 1000)}s`, '--timeout', '10s', '-s', path.join(benchDir, 'wrk', 'post.lua'), target.url], {
    env: { ...baseEnv, BENCH_BODY: target.body, BENCH_COOKIE: target.cookie ?? '' },
  });
  let out = '';
  let err = '';
  entry.child.stdout.on('data', (d) => (out += d));
  entry.child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    entry.child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || line === undefined) reject(new Error(`wrk failed (code ${code}): ${err.trim() || out.trim()}`));
      else resolve(JSON.parse(line.slice('BENCH_JSON '.length)));
    });
  });
}

async function createUser(redisUrl, prefix, username, password) {
  const { createRedisClient } = require('../dist/infra/redis.js');
  const { RedisUserStore } = require('../dist/auth/user-store.js');
  const { hashPassword } = require('../dist/auth/passwords.js');
  const { createLogger } = require('../dist/infra/logger.js');
  const redis = createRedisClient({ url: redisUrl, tlsRejectUnauthorized: true }, createLogger('silent'));
  await redis.connect();
  try {
    await new RedisUserStore(redis, prefix).put({ username, passwordHash: await hashPassword(password), createdAt: new Date().toISOString() });
  } finally {
    await redis.close();
  }
}

async function waitForReady(url, entry, timeoutMs = 20_000) {
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
async function login(baseUrl, username, password) {
  const res = await httpRequest('POST', `${baseUrl}/auth/login`, { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, JSON.stringify({ username, password }));
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}`);
  const cookie = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-perf-bff.sid='));
  if (cookie === undefined) throw new Error('sign-in set no __Host-perf-bff.sid cookie');
  return cookie.split(';')[0];
}

/** One small request, answer read whole (no keep-alive: the bench's own agents do the load). */
function httpRequest(method, url, headers, body) {
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

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void shutdown(130));

main().then(
  () => shutdown(0),
  (err) => {
    if (stopping) return;
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    void shutdown(1);
  },
);
