// The bench's HTTP client, in a process of its own: the bench sends it one job at a time over
// IPC and gets the measurements back. wrk does the throughput rounds when it is installed; this
// does everything that needs to look inside an answer (first byte, events, gaps, a stalled reader).
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { isMessage } from './lib/procs';

/** Where a job sends its POSTs: X, P, or the stand-in directly. */
export interface Target<N extends string = string> {
  name: N;
  url: string;
  body: string;
  cookie?: string;
  authorization?: string;
}

export type ClientJob =
  | { kind: 'ttfb'; target: Target; count: number }
  | { kind: 'streams'; target: Target; count: number; expectEvents: number }
  | { kind: 'slowReader'; target: Target; holdMs: number }
  | { kind: 'sequential'; target: Target; count: number }
  | { kind: 'load'; target: Target; connections: number; durationMs: number };

/** Status code → how many answers had it (a JSON object over IPC: the keys become strings). */
export type StatusCounts = Record<string, number>;

export interface FirstByteResult {
  count: number;
  statuses: StatusCounts;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
}

export interface StreamsResult {
  streams: number;
  complete: number;
  events_expected: number;
  events_received: number;
  errors: number;
  largest_gap_ms: number;
  p99_stream_gap_ms: number;
  median_stream_gap_ms: number;
  largest_gap_after_all_open_ms: number;
  all_open_after_ms: number;
  most_open_at_once: number;
}

export interface SlowReaderResult {
  status: number | undefined;
  bytes_read_before_pause: number;
}

export interface SequentialResult {
  statuses: StatusCounts;
}

/** The shape wrk's post.lua prints (`bytes` and `mean_us` from wrk only); latencies in µs. */
export interface LoadResult {
  requests: number;
  duration_us: number;
  bytes?: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us?: number;
}

export interface JobResults {
  ttfb: FirstByteResult;
  streams: StreamsResult;
  slowReader: SlowReaderResult;
  sequential: SequentialResult;
  load: LoadResult;
}

/** bench/run.ts → client */
export interface JobMessage {
  type: 'job';
  id: number;
  job: ClientJob;
}

/** client → bench/run.ts */
export type ClientMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: JobResults[ClientJob['kind']] }
  | { type: 'result'; id: number; error: string }
  | { type: 'all-open'; id: number; partial?: boolean }
  | { type: 'paused'; id: number };

type Progress = (info: { type: 'all-open'; partial?: boolean } | { type: 'paused' }) => void;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

function requestOptions(target: Target, agent: http.Agent): { options: http.RequestOptions; body: Buffer } {
  const url = new URL(target.url);
  const body = Buffer.from(target.body);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'x-forwarded-proto': 'https',
  };
  if (target.cookie !== undefined) headers.cookie = target.cookie;
  if (target.authorization !== undefined) headers.authorization = target.authorization;
  return { options: { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent }, body };
}

function countStatus(statuses: StatusCounts, status: number | undefined): void {
  const key = String(status ?? 0);
  statuses[key] = (statuses[key] ?? 0) + 1;
}

/** Sequential requests; ms from sending to the first body byte, and the status codes. */
async function ttfb(job: { target: Target; count: number }): Promise<FirstByteResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  const statuses: StatusCounts = {};
  for (let i = 0; i < job.count; i += 1) {
    const { options, body } = requestOptions(job.target, agent);
    await new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(options, (res) => {
        countStatus(statuses, res.statusCode);
        let first = true;
        res.on('data', () => {
          if (first) {
            first = false;
            samples.push(performance.now() - t0);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  return {
    count: samples.length,
    statuses,
    p50_ms: percentile(samples, 50),
    p90_ms: percentile(samples, 90),
    p99_ms: percentile(samples, 99),
  };
}

/** Counts `data:` events in an SSE byte stream, across chunk boundaries. */
function eventCounter(): { push(text: string): void; readonly events: number; readonly done: boolean } {
  let tail = '';
  let events = 0;
  let done = false;
  return {
    push(text) {
      const all = tail + text;
      const blocks = all.split('\n\n');
      tail = blocks.pop() ?? '';
      for (const block of blocks) {
        if (!block.startsWith('data:')) continue;
        events += 1;
        if (block === 'data: [DONE]') done = true;
      }
    },
    get events() {
      return events;
    },
    get done() {
      return done;
    },
  };
}

/** How one of the many streams went. */
interface StreamOutcome {
  status: number;
  events: number;
  done: boolean;
  maxGap: number;
  steadyGap: number;
  error?: boolean;
}

/**
 * `count` streams at once. Reports when all have delivered their first event (the bench samples
 * the proxy's memory then), and at the end: events per stream, the largest gap between two
 * chunks of one stream, failures.
 */
async function streams(job: { target: Target; count: number; expectEvents: number }, progress: Progress): Promise<StreamsResult> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let open = 0;
  // Gaps while streams are still being opened include the proxy's set-up work for the others;
  // gaps after that are the relay alone.
  let allOpenAt = Infinity;
  let current = 0;
  let mostOpen = 0;
  const startedAt = performance.now();
  const results = await Promise.all(
    Array.from({ length: job.count }, () => {
      const { options, body } = requestOptions(job.target, agent);
      return new Promise<StreamOutcome>((resolve) => {
        const counter = eventCounter();
        let last: number | undefined;
        let maxGap = 0;
        let steadyGap = 0;
        let status = 0;
        const req = http.request(options, (res) => {
          status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          let first = true;
          res.on('data', (text: string) => {
            const now = performance.now();
            if (last !== undefined) maxGap = Math.max(maxGap, now - last);
            if (last !== undefined && last >= allOpenAt) steadyGap = Math.max(steadyGap, now - last);
            last = now;
            counter.push(text);
            if (first) {
              first = false;
              open += 1;
              current += 1;
              mostOpen = Math.max(mostOpen, current);
              if (open === job.count) {
                allOpenAt = now;
                progress({ type: 'all-open' });
              }
            }
          });
          res.on('end', () => {
            current -= 1;
          });
          res.on('end', () => resolve({ status, events: counter.events, done: counter.done, maxGap, steadyGap }));
          res.on('error', () => resolve({ status, events: counter.events, done: false, maxGap, steadyGap, error: true }));
        });
        req.on('error', () => resolve({ status, events: counter.events, done: false, maxGap, steadyGap, error: true }));
        req.end(body);
      });
    }),
  );
  if (open < job.count) progress({ type: 'all-open', partial: true });
  agent.destroy();
  const gaps = results.map((r) => r.maxGap).sort((a, b) => a - b);
  const complete = results.filter((r) => r.status === 200 && r.done && r.events === job.expectEvents).length;
  return {
    streams: results.length,
    complete,
    events_expected: job.expectEvents * job.count,
    events_received: results.reduce((sum, r) => sum + r.events, 0),
    errors: results.filter((r) => r.error === true || r.status !== 200).length,
    largest_gap_ms: gaps[gaps.length - 1] ?? NaN,
    p99_stream_gap_ms: percentile(gaps, 99),
    median_stream_gap_ms: percentile(gaps, 50),
    largest_gap_after_all_open_ms: Math.max(...results.map((r) => r.steadyGap)),
    all_open_after_ms: allOpenAt - startedAt,
    most_open_at_once: mostOpen,
  };
}

/** Opens a stream, takes the first chunk, then stops reading for `holdMs` and hangs up. */
async function slowReader(job: { target: Target; holdMs: number }, progress: Progress): Promise<SlowReaderResult> {
  const agent = new http.Agent({ keepAlive: false });
  const { options, body } = requestOptions(job.target, agent);
  const received = await new Promise<SlowReaderResult>((resolve, reject) => {
    const req = http.request(options, (res) => {
      let bytes = 0;
      res.once('data', (chunk: Buffer) => {
        bytes += chunk.length;
        res.pause();
        progress({ type: 'paused' });
        setTimeout(() => {
          req.destroy();
          resolve({ status: res.statusCode, bytes_read_before_pause: bytes });
        }, job.holdMs);
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    req.end(body);
  });
  agent.destroy();
  return received;
}

/** `count` requests one after the other, read to the end; their status codes. */
async function sequential(job: { target: Target; count: number }): Promise<SequentialResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const statuses: StatusCounts = {};
  for (let i = 0; i < job.count; i += 1) {
    const { options, body } = requestOptions(job.target, agent);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = http.request(options, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(body);
    });
    countStatus(statuses, status);
  }
  agent.destroy();
  return { statuses };
}

/** Closed-loop load with `connections` keep-alive connections (used only when wrk is missing). */
async function load(job: { target: Target; connections: number; durationMs: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const latencies: number[] = [];
  let errors = 0;
  let status = 0;
  const start = performance.now();
  const end = start + job.durationMs;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < end) {
        const { options, body } = requestOptions(job.target, agent);
        const t0 = performance.now();
        await new Promise<void>((resolve) => {
          const req = http.request(options, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) status += 1;
              latencies.push((performance.now() - t0) * 1000);
              resolve();
            });
          });
          req.on('error', () => {
            errors += 1;
            resolve();
          });
          req.end(body);
        });
      }
    }),
  );
  const elapsed = performance.now() - start;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    duration_us: elapsed * 1000,
    connect: 0,
    read: errors,
    write: 0,
    status,
    timeout: 0,
    p50_us: percentile(latencies, 50),
    p90_us: percentile(latencies, 90),
    p99_us: percentile(latencies, 99),
    max_us: latencies[latencies.length - 1] ?? NaN,
  };
}

function runJob(job: ClientJob, progress: Progress): Promise<JobResults[ClientJob['kind']]> {
  switch (job.kind) {
    case 'ttfb':
      return ttfb(job);
    case 'streams':
      return streams(job, progress);
    case 'slowReader':
      return slowReader(job, progress);
    case 'sequential':
      return sequential(job);
    case 'load':
      return load(job);
  }
}

function send(msg: ClientMessage): void {
  if (process.send === undefined) throw new Error('bench/client runs as a child of bench/run (it needs the IPC channel)');
  process.send(msg);
}

process.on('message', (msg: unknown) => {
  if (!isMessage<JobMessage>(msg, 'job')) return;
  const { id, job } = msg;
  runJob(job, (info) => send({ ...info, id })).then(
    (result) => send({ type: 'result', id, result }),
    (err: unknown) => send({ type: 'result', id, error: err instanceof Error ? err.message : String(err) }),
  );
});
send({ type: 'ready' });
