import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { call, productionEnv, signIn, startApp, startSuite, stopEverything } from './harness';
import type { AppProcess, Suite } from './harness';

/* Slow and hostile clients against the real server process: every one is bounded. */

const KEY = 'pk_test_slowclients_0001';
const PASSWORD = 'slow clients password';

let suite: Suite;
let app: AppProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  suite = await startSuite({ keys: [KEY], users: ['sam'], password: PASSWORD });
  app = await startApp(
    productionEnv({
      PERF_API_KEY: KEY,
      PERF_BASE_URL: suite.perfUrl,
      REDIS_URL: suite.redis.url,
      REQUEST_TIMEOUT_MS: '2000',
      HEADERS_TIMEOUT_MS: '1500',
      RATE_LIMIT_REQUESTS: '1000',
    }),
  );
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await stopEverything();
});

/** A raw connection that sends `head`, then one more byte of body every `everyMs`. */
function trickle(head: string, everyMs = 1000): { received: Promise<{ text: string; closedAfterMs: number }> } {
  const started = Date.now();
  const socket = connect(app.port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
  socket.on('error', () => undefined);
  socket.write(head);
  const drip = setInterval(() => {
    if (!socket.destroyed) socket.write('a');
  }, everyMs);
  return {
    received: new Promise((resolve) =>
      socket.once('close', () => {
        clearInterval(drip);
        resolve({ text, closedAfterMs: Date.now() - started });
      }),
    ),
  };
}

const post = (path: string, length: number, cookie = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${cookie === '' ? '' : `Cookie: ${cookie}\r\n`}\r\n{`;

test('a body sent a byte a second is cut with 408 within REQUEST_TIMEOUT_MS (and the check that follows it)', async () => {
  const cookie = await signIn(suite.agent, app.url, 'sam', PASSWORD);
  const { text, closedAfterMs } = await trickle(post('/api/chat', 10_000, cookie)).received;
  expect(text).toMatch(/^HTTP\/1\.1 408 /);
  expect(closedAfterMs).toBeLessThan(2000 + 1500);
  expect(suite.standIn.requests).toHaveLength(0);
});

test('an answer given before the body arrived does not wait for the rest of it: the connection closes at once', async () => {
  const { text, closedAfterMs } = await trickle(post('/api/chat', 10_000)).received;
  expect(text).toMatch(/^HTTP\/1\.1 401 /);
  expect(text).toMatch(/\r\nConnection: close\r\n/i);
  expect(closedAfterMs).toBeLessThan(500);
});

test('2,000 idle keep-alive connections and 500 slowloris ones do not slow a signed-in chat past 2 s', async () => {
  let connected = 0;
  const open = (n: number, first: string) =>
    Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect(app.port, '127.0.0.1', () => {
              connected += 1;
              socket.write(first);
              resolve();
            });
            socket.on('error', () => resolve());
            sockets.push(socket);
          }),
      ),
    );
  await open(2000, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await open(500, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const cookie = await signIn(suite.agent, app.url, 'sam', PASSWORD);
  const chat = await call(suite.agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'still fast?' } });
  expect(chat.status).toBe(200);
  expect(chat.ms).toBeLessThan(2000);
  expect(connected).toBe(2500);
  expect(sockets.filter((s) => !s.destroyed).length).toBeGreaterThanOrEqual(2000);
});
