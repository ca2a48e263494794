// L, the lean limit: exactly the chat path's work and nothing around it. No framework, no log,
// no metrics, no deadlines. It verifies X's signed session cookie, reads the session from the
// same Redis, admits with the same Lua step (rate limit + reservation), calls the stand-in with
// undici, reads Perf's cost from the answer, settles with the same Lua step, and answers with the
// rate-limit headers. What X costs beyond L is what it does around that work.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { Agent, request } from 'undici';
import { createLogger } from '../src/infra/logger';
import { DAY_WINDOW } from '../src/limits/ledger-window';
import { windowArgs } from '../src/stores/ledger-replies';
import { createStoreClient } from '../src/stores/redis-client';

const [portArg, upstream, redisUrl] = process.argv.slice(2);
if (upstream === undefined || redisUrl === undefined) throw new Error('usage: lean <port> <upstream url> <redis url>');
const prefix = process.env.BENCH_PREFIX ?? 'bench:';
const secret = process.env.BENCH_SESSION_SECRET ?? '';
const auth = `Bearer ${process.env.BENCH_PERF_KEY ?? ''}`;
const COOKIE = '__Host-perf-bff.sid=';
const CAP_MICROS = 10_000;
const LIMIT = 1_000_000;
const WINDOW_SECONDS = 60;
const BUDGET_MICROS = 1_000_000_000_000;

const redis = createStoreClient({ url: redisUrl, tlsRejectUnauthorized: true }, createLogger('silent'));
const dispatcher = new Agent({ connections: null, keepAliveTimeout: 10_000 });

/** express-session's cookie: `s:<id>.<base64 HMAC-SHA256 of the id, unpadded>`, URL-encoded. */
function sessionId(cookieHeader: string | undefined): string | undefined {
  const at = cookieHeader?.indexOf(COOKIE) ?? -1;
  if (cookieHeader === undefined || at === -1) return undefined;
  const end = cookieHeader.indexOf(';', at);
  const value = decodeURIComponent(cookieHeader.slice(at + COOKIE.length, end === -1 ? undefined : end));
  const dot = value.lastIndexOf('.');
  if (!value.startsWith('s:') || dot === -1) return undefined;
  const id = value.slice(2, dot);
  const expected = Buffer.from(createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''));
  const given = Buffer.from(value.slice(dot + 1));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

function fail(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":{}}');
}

async function chat(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
  const id = sessionId(req.headers.cookie);
  const raw = id === undefined ? null : await redis.get(`${prefix}sess:${id}`);
  const user = raw === null ? undefined : (JSON.parse(raw) as { user?: { username: string } }).user?.username;
  if (user === undefined) return fail(res, 401);
  const message = (JSON.parse(body) as { message?: unknown }).message;
  if (typeof message !== 'string') return fail(res, 400);
  const now = Date.now();
  const reservation = randomUUID();
  const ledger = [`${prefix}ledger:${user}`];
  const admitted = await redis.ledgerAdmit([`${prefix}rl:chat:${user}`], ledger, [
    ...windowArgs(DAY_WINDOW, now),
    CAP_MICROS,
    reservation,
    1,
    LIMIT,
    WINDOW_SECONDS,
    BUDGET_MICROS,
  ]);
  const [count = 0, ttl = 0, reserved = 0] = admitted;
  if (reserved !== 1) return fail(res, 429);
  const answer = await request(`${upstream}/v1/chat`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: message }], max_cost_per_call: CAP_MICROS / 1e6 }),
  });
  const text = await answer.body.text();
  const cost = (JSON.parse(text) as { perf?: { cost_usd?: number } }).perf?.cost_usd;
  const micros = cost === undefined ? CAP_MICROS : Math.ceil(Math.round(cost * 1e9) / 1000);
  await redis.ledgerSettle(ledger, reservation, cost === undefined ? 'keep' : 'charge', micros);
  res.writeHead(answer.statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-ratelimit-limit': LIMIT,
    'x-ratelimit-remaining': Math.max(0, LIMIT - count),
    'x-ratelimit-reset': Math.ceil((now + ttl) / 1000),
  });
  res.end(text);
}

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    chat(req, res, body).catch(() => {
      if (!res.headersSent) fail(res, 500);
      else res.destroy();
    });
  });
});
server.keepAliveTimeout = 65_000;
void redis.connect().then(() => server.listen(Number(portArg), '127.0.0.1', () => process.send?.({ type: 'ready' })));
process.on('SIGTERM', () => {
  server.close(() => void redis.close().then(() => process.exit(0)));
  server.closeAllConnections();
});
