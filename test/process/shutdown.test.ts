import type { Agent } from 'undici';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import type { RedisProcess } from './harness';
import { beginRequest, call, listening, productionEnv, signIn, startApp, startSuite, stopEverything, waitFor } from './harness';
import { STAND_IN_COST_USD } from '../../src/dev/perf-stand-in';

const OLD_KEY = 'pk_test_shutdownsuite_old_0001';
const NEW_KEY = 'pk_test_shutdownsuite_new_0002';
const PASSWORD = 'correct horse battery';
const REPLY = 'one two three four five six seven eight nine ten eleven twelve';

let redis: RedisProcess;
let standIn: PerfStandIn;
let perfUrl: string;
let agent: Agent;

beforeAll(async () => {
  ({ redis, standIn, perfUrl, agent } = await startSuite({ keys: [OLD_KEY, NEW_KEY], users: ['sam'], password: PASSWORD }));
});

afterAll(stopEverything);

function env(key: string): Record<string, string> {
  return productionEnv({ PERF_API_KEY: key, PERF_BASE_URL: perfUrl, REDIS_URL: redis.url });
}

function bearer(i: number): string | string[] | undefined {
  return standIn.requests[i]?.headers.authorization;
}

describe('graceful shutdown (SIGTERM)', () => {
  test('when SIGTERM arrives during a slow JSON call and a stream, both complete, /readyz says 503 meanwhile, new connections are refused, and the process exits 0', async () => {
    const app = await startApp(env(OLD_KEY));
    const cookie = await signIn(agent, app.url, 'sam', PASSWORD);
    standIn.reset();
    standIn.enqueue({ delayMs: 1500 });
    const json = call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'slow json please' } });
    await waitFor('Perf to receive the JSON call', () => standIn.requests.length === 1);
    standIn.enqueue({ reply: REPLY, chunkDelayMs: 120, streamCostUsd: 0.0003 });
    const stream = call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'slow stream please', stream: true } });
    await waitFor('Perf to receive the stream call', () => standIn.requests.length === 2);
    // A request already under way on its own connection when the signal lands.
    const probe = await beginRequest(app.port, 'GET /readyz HTTP/1.1\r\n');

    const signalled = Date.now();
    app.child.kill('SIGTERM');
    await waitFor('the shutdown to begin', () => app.lines.some((l) => l.includes('shutting down')));
    const readyz = await probe.finish('Host: localhost\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n');
    expect(readyz).toMatch(/^HTTP\/1\.1 503/);
    expect(readyz).toContain('"shutting_down"');
    expect(await listening(app.port)).toBe(false);

    const [jsonAnswer, streamAnswer] = await Promise.all([json, stream]);
    expect(jsonAnswer.status).toBe(200);
    expect((jsonAnswer.json() as { perf: { cost_usd: number } }).perf.cost_usd).toBe(STAND_IN_COST_USD);
    expect(streamAnswer.status).toBe(200);
    expect(streamAnswer.headers['content-type']).toMatch(/^text\/event-stream/);
    for (const word of REPLY.split(' ')) expect(streamAnswer.text).toContain(`"content":"${word} `.trimEnd());
    expect(streamAnswer.text).toContain('data: [DONE]');

    const { code, signal } = await app.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // The keep-alive connections are closed as their answers finish: no wait for a timeout.
    expect(Date.now() - signalled).toBeLessThan(5000);
    const logs = app.logs();
    const chats = logs.filter((l) => (l.req as { path?: string } | undefined)?.path === '/api/chat');
    expect(chats.map((l) => (l.call as { settled?: string }).settled)).toEqual(['charge', 'charge']);
    expect(logs.some((l) => l.msg === 'shut down')).toBe(true);
    expect(logs.some((l) => l.msg === 'shutdown timeout reached: closing the remaining connections')).toBe(false);
  });

  test('when PERF_API_KEY changes by starting a new instance and stopping the old one, no request is dropped and each instance uses its own key', async () => {
    const oldApp = await startApp(env(OLD_KEY));
    const cookie = await signIn(agent, oldApp.url, 'sam', PASSWORD);
    standIn.reset();
    standIn.enqueue({ delayMs: 1000 });
    const inFlight = call(agent, oldApp.url, 'POST', '/api/chat', { cookie, body: { message: 'on the old key' } });
    await waitFor('Perf to receive the call', () => standIn.requests.length === 1);

    const newApp = await startApp(env(NEW_KEY));
    oldApp.child.kill('SIGTERM');
    // The same session works on the new instance: sessions live in the shared Redis.
    const onNew = await call(agent, newApp.url, 'POST', '/api/chat', { cookie, body: { message: 'on the new key' } });
    expect(onNew.status).toBe(200);
    expect((await inFlight).status).toBe(200);
    expect((await oldApp.exit).code).toBe(0);

    // Compared, never printed: the keys stay out of test output too.
    expect(bearer(0) === `Bearer ${OLD_KEY}`).toBe(true);
    expect(bearer(1) === `Bearer ${NEW_KEY}`).toBe(true);
    expect(standIn.aborted).toBe(0);
    newApp.child.kill('SIGTERM');
    expect((await newApp.exit).code).toBe(0);
  });
});
