import { request } from 'undici';
import { call, productionEnv, signIn, startApp, startSuite, stopEverything } from './harness';
import type { AppProcess, Suite } from './harness';

/*
 * Heroku's router ends a request that has sent no byte in 30 s (H12) and a response silent for
 * 55 s. On a dyno (DYNO set) with the default settings, a model that thinks for 40 s before its
 * first token still reaches the browser: the stream sends `: keep-alive` every STREAM_HEARTBEAT_MS
 * (15 s), and a JSON call gives up at 25 s with our own 504 instead of the router's HTML page.
 */

const KEY = 'pk_test_herokurouter_0001';
const PASSWORD = 'heroku router password';
const THINKING_MS = 40_000;
const ROUTER_FIRST_BYTE_MS = 30_000;
const HEARTBEAT_BOUND_MS = 25_000;

let suite: Suite;
let app: AppProcess;

beforeAll(async () => {
  suite = await startSuite({ keys: [KEY], users: ['hana'], password: PASSWORD });
  app = await startApp(productionEnv({ DYNO: 'web.1', PERF_API_KEY: KEY, PERF_BASE_URL: suite.perfUrl, REDIS_URL: suite.redis.url }));
});
afterAll(() => stopEverything());

/** A stream read as bytes arrive: the time of every chunk, from the moment the request was sent. */
async function streamWithTimes(cookie: string): Promise<{ status: number; text: string; arrivals: number[]; endedAt: number }> {
  const started = Date.now();
  const res = await request(`${app.url}/api/chat`, {
    method: 'POST',
    dispatcher: suite.agent,
    headers: { 'x-forwarded-proto': 'https', 'content-type': 'application/json', cookie },
    body: JSON.stringify({ message: 'think hard', stream: true }),
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const arrivals = [Date.now() - started];
  let text = '';
  for await (const chunk of res.body) {
    arrivals.push(Date.now() - started);
    text += (chunk as Buffer).toString('utf8');
  }
  return { status: res.statusCode, text, arrivals, endedAt: Date.now() - started };
}

test(
  'a 40 s silence before Perf answers: the stream sends heartbeats well inside the router windows and completes; a JSON call ends in 504 before the router would',
  async () => {
    const streamer = await signIn(suite.agent, app.url, 'hana', PASSWORD);
    suite.standIn.enqueue({ delayMs: THINKING_MS, reply: 'finally, an answer' });
    suite.standIn.enqueue({ delayMs: THINKING_MS });
    const [stream, json] = await Promise.all([
      streamWithTimes(streamer),
      // The second request of the pair: the stand-in takes scenarios in arrival order.
      new Promise((resolve) => setTimeout(resolve, 200)).then(() =>
        call(suite.agent, app.url, 'POST', '/api/chat', { cookie: streamer, body: { message: 'think hard' } }),
      ),
    ]);

    expect(stream.status).toBe(200);
    // The head and the first heartbeat came long before the router's 30 s.
    expect(stream.arrivals[0]).toBeLessThan(HEARTBEAT_BOUND_MS);
    const gaps = [...stream.arrivals, stream.endedAt].map((t, i, all) => t - (i === 0 ? 0 : (all[i - 1] ?? 0)));
    expect(Math.max(...gaps)).toBeLessThan(HEARTBEAT_BOUND_MS);
    expect(stream.text.startsWith(': keep-alive\n\n')).toBe(true);
    expect(stream.text.match(/^: keep-alive$/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(stream.text).toContain('finally');
    expect(stream.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(stream.endedAt).toBeGreaterThanOrEqual(THINKING_MS);

    expect(json.status).toBe(504);
    expect(json.json()).toMatchObject({ error: { type: 'upstream_timeout' } });
    expect(json.ms).toBeGreaterThanOrEqual(24_000);
    expect(json.ms).toBeLessThan(ROUTER_FIRST_BYTE_MS);
  },
  THINKING_MS + 20_000,
);
