// The bench's HTTP client, in a process of its own: the bench sends it one job at a time over
// IPC and gets the measurements back. wrk does the throughput rounds when it is installed; this
// does everything that needs to look inside an answer (first byte, events, gaps, a stalled reader).
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

function requestOptions(target, agent) {
  const url = new URL(target.url);
  const body = Buffer.from(target.body);
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'x-forwarded-proto': 'https' };
  if (target.cookie !== undefined) headers.cookie = target.cookie;
  if (target.authorization !== undefined) headers.authorization = target.authorization;
  return { options: { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent }, body };
}

/** Sequential requests; ms from sending to the first body byte, and the status codes. */
async function ttfb(job) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  const statuses = {};
  for (let i = 0; i < job.count; i += 1) {
    const { options, body } = requestOptions(job.target, agent);
    await new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(options, (res) => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
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
  return { count: samples.length, statuses, p50_ms: percentile(samples, 50), p90_ms: percentile(samples, 90), p99_ms: percentile(samples, 99) };
}

/** Counts `data:` events in an SSE byte stream, across chunk boundaries. */
function eventCounter() {
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

/**
 * `count` streams at once. Reports when all have delivered their first event (the bench samples
 * the proxy's memory then), and at the end: events per stream, the largest gap between two
 * chunks of one stream, failures.
 */
async function streams(job, progress) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let open = 0;
  let reportedOpen = false;
  // Gaps while streams are still being opened include the proxy's set-up work for the others;
  // gaps after that are the relay alone.
  let allOpenAt = Infinity;
  let current = 0;
  let mostOpen = 0;
  const startedAt = performance.now();
  const results = await Promise.all(
    Array.from({ length: job.count }, () => {
      const { options, body } = requestOptions(job.target, agent);
      return new Promise((resolve) => {
        const counter = eventCounter();
        let last;
        let maxGap = 0;
        let steadyGap = 0;
        let status = 0;
        const req = http.request(options, (res) => {
          status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          let first = true;
          res.on('data', (text) => {
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
              if (open === job.count && !reportedOpen) {
                reportedOpen = true;
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
  if (!reportedOpen) progress({ type: 'all-open', partial: true });
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
async function slowReader(job, progress) {
  const agent = new http.Agent({ keepAlive: false });
  const { options, body } = requestOptions(job.target, agent);
  const received = await new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      let bytes = 0;
      res.once('data', (chunk) => {
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
    req.on('error', (err) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    req.end(body);
  });
  agent.destroy();
  return received;
}

/** `count` requests one after the other, read to the end; their status codes. */
async function sequential(job) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const statuses = {};
  for (let i = 0; i < job.count; i += 1) {
    const { options, body } = requestOptions(job.target, agent);
    const status = await new Promise((resolve, reject) => {
      const req = http.request(options, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(body);
    });
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  agent.destroy();
  return { statuses };
}

/** Closed-loop load with `connections` keep-alive connections (used only when wrk is missing). */
async function load(job) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const latencies = [];
  let errors = 0;
  let status = 0;
  const start = performance.now();
  const end = start + job.durationMs;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < end) {
        const { options, body } = requestOptions(job.target, agent);
        const t0 = performance.now();
        await new Promise((resolve) => {
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

const jobs = { ttfb, streams, slowReader, sequential, load };

process.on('message', (msg) => {
  if (msg?.type !== 'job') return;
  const progress = (info) => process.send({ ...info, id: msg.id });
  const run = jobs[msg.job.kind];
  Promise.resolve(run === undefined ? Promise.reject(new Error(`unknown job ${msg.job.kind}`)) : run(msg.job, progress)).then(
    (result) => process.send({ type: 'result', id: msg.id, result }),
    (err) => process.send({ type: 'result', id: msg.id, error: err.message }),
  );
});
process.send({ type: 'ready' });
