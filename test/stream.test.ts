import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { modes, startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { openStream } from './helpers/sse-client';
import { eventually, steady, waitFor } from './helpers/wait';

/** A full GC before each memory reading, so that earlier tests' garbage does not count. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe.each(modes())('streaming relay (%s stores)', (mode) => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness({ mode, env: { STREAM_START_TIMEOUT_MS: '500', STREAM_IDLE_TIMEOUT_MS: '300', RATE_LIMIT_REQUESTS: '1000' } });
    cookie = await h.sessionCookie();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('answers text/event-stream with no-cache, no-transform, X-Accel-Buffering: no and the rate-limit headers', async () => {
    const stream = await openStream(h.url, cookie, { message: 'hello', stream: true });
    await stream.done;
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.res.headers['x-accel-buffering']).toBe('no');
    expect(stream.res.headers['x-ratelimit-limit']).toBe('1000');
    expect(stream.res.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
    const resetIn = Number(stream.res.headers['x-ratelimit-reset']) - Date.now() / 1000;
    expect(resetIn).toBeGreaterThan(0);
    // Whole seconds, rounded up: at most the 60 s window and the second it started in.
    expect(resetIn).toBeLessThanOrEqual(61);
    expect(stream.res.headers['set-cookie']).toBeUndefined();
    expect(h.standIn.requests[0]?.path).toBe('/v1/chat/stream');
  });

  test("relays Perf's events whole and in order, ending with [DONE]", async () => {
    h.standIn.enqueue({ reply: 'alpha beta gamma' });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    const data = stream.events.map((e) => e.data);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data
      .slice(0, -1)
      .map(
        (d) => JSON.parse(d) as { object: string; choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[] },
      );
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('alpha beta gamma');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  test('the first event reaches the client long before the stand-in sends its last', async () => {
    h.standIn.enqueue({ reply: 'one two three four five six seven eight', chunkDelayMs: 100 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    const first = stream.events[0]?.at ?? 0;
    const last = stream.events.at(-1)?.at ?? 0;
    // Ten upstream events 100 ms apart: a buffering proxy would deliver them all at once.
    expect(last - first).toBeGreaterThanOrEqual(700);
    const distinctArrivals = new Set(stream.events.map((e) => Math.floor(e.at / 50)));
    expect(distinctArrivals.size).toBeGreaterThanOrEqual(8);
  });

  test('a failure before the first byte is an ordinary JSON error', async () => {
    h.standIn.enqueue({ status: 401 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    const body = await stream.done;
    expect(stream.res.statusCode).toBe(502);
    expect(stream.res.headers['content-type']).toMatch(/application\/json/);
    expect(stream.res.headers['x-ratelimit-limit']).toBe('1000');
    expect(JSON.parse(body)).toMatchObject({ error: { type: 'upstream_auth_failed' } });
  });

  test('a failure mid-stream ends the stream with a final error event', async () => {
    h.standIn.enqueue({ reply: 'one two three four five six', failAfterChunks: 3, chunkDelayMs: 50 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    expect(stream.res.statusCode).toBe(200);
    expect(stream.events).toHaveLength(4);
    const last = JSON.parse(stream.events.at(-1)?.data ?? '{}') as { error: { type: string; request_id: string; message: string } };
    expect(last.error.type).toBe('upstream_error');
    expect(last.error.request_id).toBe(stream.res.headers['x-request-id']);
    expect(h.standIn.requests).toHaveLength(1); // never retried after the first byte
  });

  test('no first byte within STREAM_START_TIMEOUT_MS (shorter than a heartbeat): 504 upstream_timeout as JSON, in time', async () => {
    h.standIn.enqueue({ stallBeforeFirstChunkMs: 2000 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    const body = await stream.done;
    // Without its deadline the call would never end (Perf hangs); the margin is for a loaded machine.
    expect(Date.now() - stream.startedAt).toBeLessThan(500 + 1000);
    expect(stream.res.statusCode).toBe(504);
    expect(JSON.parse(body)).toMatchObject({ error: { type: 'upstream_timeout' } });
  });

  test('silence longer than STREAM_IDLE_TIMEOUT_MS mid-stream: a final upstream_timeout event, upstream closed', async () => {
    h.standIn.enqueue({ reply: 'slow words here', chunkDelayMs: 5000 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    // Ended by the 300 ms idle timeout, long before Perf's next chunk (5 s).
    expect(Date.now() - stream.startedAt).toBeLessThan(2500);
    const last = JSON.parse(stream.events.at(-1)?.data ?? '{}') as { error?: { type: string } };
    expect(last.error?.type).toBe('upstream_timeout');
    await waitFor(() => h.standIn.aborted === 1, 1000);
  });
});

describe.each(modes())('a slow browser (%s stores)', (mode) => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    // Generous timeouts: these tests are about memory, and a loaded machine may pause longer than 300 ms.
    h = await startHarness({
      mode,
      env: { STREAM_START_TIMEOUT_MS: '10000', STREAM_IDLE_TIMEOUT_MS: '10000', RATE_LIMIT_REQUESTS: '1000' },
    });
    cookie = await h.sessionCookie();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('a reader that stalls and then leaves: the upstream is closed and the call settles at once', async () => {
    h.standIn.enqueue({ paddingBytes: 32 * 1024 * 1024 });
    const own = await h.sessionCookie();
    const stream = await openStream(h.url, own, { message: 'x', stream: true });
    stream.res.pause();
    // The buffers between the hops are full: the relay is now waiting for the browser.
    await steady(() => h.standIn.streamBytesSent, 200);
    stream.req.destroy();
    await waitFor(() => h.standIn.aborted === 1, 1000);
    await eventually(async () => expect(await h.usage(own)).toMatchObject({ reserved_usd: 0, spent_usd: 0.01 }));
  });

  test('a slow reader does not make the proxy buffer the answer: the upstream is held back, memory stays bounded', async () => {
    const total = 48 * 1024 * 1024;
    h.standIn.enqueue({ paddingBytes: total });
    collectGarbage();
    const before = process.memoryUsage();
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    stream.res.pause();
    await steady(() => h.standIn.streamBytesSent, 300);
    collectGarbage();
    const during = process.memoryUsage();
    // Socket buffers on three hops hold a few MB at most; the rest must still be upstream.
    expect(h.standIn.streamBytesSent).toBeLessThan(16 * 1024 * 1024);
    expect(during.rss - before.rss).toBeLessThan(64 * 1024 * 1024);
    let received = 0;
    stream.res.on('data', (c: Buffer) => {
      received += c.length;
    });
    stream.res.resume();
    await stream.done;
    expect(received).toBeGreaterThan(total);
    expect(h.standIn.streamBytesSent).toBeGreaterThan(total);
  });
});

// The stores play no part in heartbeats: one mode is enough (their seconds of waiting add up).
describe('heartbeats', () => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness({
      mode: 'memory',
      env: { STREAM_HEARTBEAT_MS: '1000', STREAM_START_TIMEOUT_MS: '4000', STREAM_IDLE_TIMEOUT_MS: '5000', RATE_LIMIT_REQUESTS: '1000' },
    });
    cookie = await h.sessionCookie();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  /** The longest stretch with no byte at all, from the request to the end. */
  function longestSilence(stream: { startedAt: number; events: { at: number }[]; heartbeats: number[] }, endedAt: number): number {
    const times = [stream.startedAt, ...stream.events.map((e) => e.at), ...stream.heartbeats, endedAt].sort((a, b) => a - b);
    return Math.max(...times.slice(1).map((t, i) => t - (times[i] ?? t)));
  }

  test('while Perf thinks before answering at all: 200 and `: keep-alive` comments, then the answer', async () => {
    h.standIn.enqueue({ delayMs: 2600, reply: 'worth the wait' });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    // The head came with the first heartbeat, long before Perf's.
    expect(Date.now() - stream.startedAt).toBeLessThan(2000);
    expect(stream.res.statusCode).toBe(200);
    const raw = await stream.done;
    expect(raw.startsWith(': keep-alive\n\n')).toBe(true);
    expect(stream.heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(longestSilence(stream, Date.now())).toBeLessThan(1000 + 700);
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
    await eventually(async () => expect(await h.usage(cookie)).toMatchObject({ reserved_usd: 0 }));
  });

  test('after headers, before the first chunk, and in long gaps between chunks', async () => {
    h.standIn.enqueue({ stallBeforeFirstChunkMs: 1800, reply: 'a', chunkDelayMs: 1400 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    expect(stream.heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(longestSilence(stream, Date.now())).toBeLessThan(1000 + 700);
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
  });

  test('none while events flow', async () => {
    h.standIn.enqueue({ reply: 'one two three four five six', chunkDelayMs: 300 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    expect(stream.heartbeats).toEqual([]);
  });

  test("a failure after the first heartbeat is the stream's final event (a 429 from Perf: nothing charged)", async () => {
    h.standIn.enqueue({ delayMs: 1500, status: 429, retryAfterSeconds: 120 });
    const own = await h.sessionCookie();
    const stream = await openStream(h.url, own, { message: 'x', stream: true });
    await stream.done;
    expect(stream.res.statusCode).toBe(200);
    expect(stream.heartbeats.length).toBeGreaterThanOrEqual(1);
    expect(stream.events).toHaveLength(1);
    expect(JSON.parse(stream.events[0]?.data ?? '{}')).toMatchObject({ error: { type: 'upstream_rate_limited' } });
    await eventually(async () => expect(await h.usage(own)).toMatchObject({ reserved_usd: 0, spent_usd: 0 }));
  });

  test('no first byte from Perf within STREAM_START_TIMEOUT_MS: a final upstream_timeout event, the cap kept', async () => {
    h.standIn.enqueue({ hang: true });
    const own = await h.sessionCookie();
    const stream = await openStream(h.url, own, { message: 'x', stream: true });
    await stream.done;
    expect(Date.now() - stream.startedAt).toBeLessThan(4000 + 1500);
    expect(stream.heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(stream.events.at(-1)?.data ?? '{}')).toMatchObject({ error: { type: 'upstream_timeout' } });
    await eventually(async () => expect(await h.usage(own)).toMatchObject({ reserved_usd: 0, spent_usd: 0.01 }));
  });

  test('a browser that leaves while Perf thinks: heartbeats stop, the upstream call is abandoned', async () => {
    h.standIn.enqueue({ hang: true });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await waitFor(() => stream.heartbeats.length > 0, 3000, 'a heartbeat');
    stream.req.destroy();
    await waitFor(() => h.standIn.aborted === 1, 2000, 'the upstream call to be aborted');
  });
});
