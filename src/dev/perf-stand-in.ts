import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { costOf, usageOf } from './stand-in-pricing';
import type { StandInPrices, StandInUsage } from './stand-in-pricing';
import { drained } from '../infra/drained';

/**
 * A stand-in for Perf's API that speaks its contract over real HTTP: `/v1/chat`,
 * `/v1/chat/stream`, its error shapes and `perf.cost_usd`. The embedded default answers with it
 * when no PERF_API_KEY is set, and the tests drive it with scenarios.
 */
/** What a JSON answer reports in `perf.cost_usd` unless a scenario says otherwise. */
export const STAND_IN_COST_USD = 0.0002;

export interface Scenario {
  /** Answer with this HTTP status and Perf's error body instead of a completion. */
  status?: number;
  errorCode?: string;
  retryAfterSeconds?: number;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Never answer (until the client gives up). */
  hang?: boolean;
  /** Close the socket without answering. */
  dropConnection?: boolean;
  /** The assistant's text; by default it repeats the last user message. */
  reply?: string;
  /** JSON: the reported cost (null leaves `perf.cost_usd` out). Default STAND_IN_COST_USD. */
  costUsd?: number | null;
  /** Streams: a final chunk carrying usage and `perf.cost_usd`. Default none, as Perf documents. */
  streamCostUsd?: number;
  /** Streams asked for usage (stream_options, honoured): 'tokens' leaves the cost out of the usage chunk. */
  streamUsage?: 'tokens';
  /** Streams: pause between chunks. */
  chunkDelayMs?: number;
  /** Streams: cut the connection after this many chunks. */
  failAfterChunks?: number;
  /** Streams: send this many bytes of padding chunks instead of a reply (memory tests). */
  paddingBytes?: number;
  /** Add a Set-Cookie to the answer (the proxy must not pass it on). */
  setCookie?: boolean;
  /** Send headers, then stall before the first chunk. */
  stallBeforeFirstChunkMs?: number;
  /**
   * A hostile or broken Perf that sends our key back: in the reply's text, as the error code, or
   * as the model's name. In a stream, the event holding it is written in two halves that split
   * the key, a few milliseconds apart.
   */
  echoKey?: 'reply' | 'code' | 'model';
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface StandInOptions {
  apiKeys: readonly string[];
  /** Per-model prices: answers of those models report real token counts and what they cost at these prices. */
  prices?: StandInPrices;
  /**
   * What a stream request's `stream_options: {include_usage: true}` does: 'ignore' (default, as
   * Perf's docs show its streams today), 'honour' (a final chunk with usage and `perf.cost_usd`,
   * as OpenAI sends), or 'reject' (400, as a strict API would).
   */
  streamOptions?: 'honour' | 'ignore' | 'reject';
  /** Scenario used when the queue is empty. */
  defaults?: Scenario;
}

export class PerfStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Every cost this stand-in reported (perf.cost_usd), JSON and streams alike: what Perf would bill. */
  readonly reportedCosts: number[] = [];
  /** Requests whose client went away before the answer was complete. */
  aborted = 0;
  /** Bytes of stream events written so far, across all streams. */
  streamBytesSent = 0;
  private readonly queue: Scenario[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private defaults: Scenario;

  constructor(private readonly options: StandInOptions) {
    this.defaults = options.defaults ?? {};
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  /** The next requests take these scenarios, in order; then the defaults apply again. */
  enqueue(...scenarios: Scenario[]): void {
    this.queue.push(...scenarios);
  }

  setDefaults(defaults: Scenario): void {
    this.defaults = defaults;
  }

  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
    this.reportedCosts.length = 0;
    this.aborted = 0;
    this.streamBytesSent = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    this.requests.push({ path, headers: req.headers, body });
    let scenario = this.queue.shift() ?? this.defaults;
    res.on('close', () => {
      if (!res.writableFinished) this.aborted += 1;
    });

    if (req.method !== 'POST' || (path !== '/v1/chat' && path !== '/v1/chat/stream')) {
      sendError(res, 404, 'not_found', 'not_found_error', 'No such endpoint.');
      return;
    }
    const auth = req.headers.authorization ?? '';
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (scenario.echoKey === 'code') scenario = { ...scenario, errorCode: key, status: scenario.status ?? 500 };
    if (!this.options.apiKeys.includes(key)) {
      sendError(res, 401, 'invalid_api_key', 'authentication_error', 'Invalid API key provided.');
      return;
    }
    if (scenario.dropConnection === true) {
      req.socket.destroy();
      return;
    }
    if (scenario.hang === true) return;
    if (scenario.delayMs !== undefined) await sleep(scenario.delayMs);
    if (res.destroyed) return;
    if (scenario.setCookie === true) res.setHeader('Set-Cookie', 'perf_session=upstream-secret; Path=/');
    if (scenario.status !== undefined && scenario.status !== 200) {
      if (scenario.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(scenario.retryAfterSeconds));
      sendError(res, scenario.status, scenario.errorCode ?? codeFor(scenario.status), 'api_error', 'Upstream failure (stand-in).');
      return;
    }
    if (!isChatBody(body)) {
      sendError(res, 400, 'invalid_request', 'invalid_request_error', 'messages is required.');
      return;
    }
    const streamOptions = (body as { stream_options?: { include_usage?: unknown } }).stream_options;
    if (path === '/v1/chat/stream' && streamOptions !== undefined && this.options.streamOptions === 'reject') {
      sendError(res, 400, 'invalid_request', 'invalid_request_error', 'Unrecognized request argument supplied: stream_options');
      return;
    }
    const reply = scenario.echoKey === 'reply' ? `Your key is ${key}, by the way.` : (scenario.reply ?? defaultReply(body));
    const model = scenario.echoKey === 'model' ? key : (body.model ?? 'stand-in-small');
    const usage = usageOf(this.options.prices, model, body.messages, reply);
    if (path === '/v1/chat') {
      const cost = scenario.costUsd === undefined ? costOf(this.options.prices, model, usage, STAND_IN_COST_USD) : scenario.costUsd;
      sendCompletion(res, { model, reply, usage, cost });
      if (cost !== null) this.reportedCosts.push(cost);
      return;
    }
    let final: Record<string, unknown> | undefined;
    if (scenario.streamCostUsd !== undefined) {
      final = { usage, perf: { model_used: model, cost_usd: scenario.streamCostUsd } };
      this.reportedCosts.push(scenario.streamCostUsd);
    } else if (this.options.streamOptions === 'honour' && streamOptions?.include_usage === true) {
      const cost = costOf(this.options.prices, model, usage, STAND_IN_COST_USD);
      // OpenAI's shape: a last chunk with no choices, the usage (and Perf's own object, with the cost).
      final = { choices: [], usage, ...(scenario.streamUsage === 'tokens' ? {} : { perf: { model_used: model, cost_usd: cost } }) };
      if (scenario.streamUsage !== 'tokens') this.reportedCosts.push(cost);
    }
    await sendStream(res, { model, reply, final }, scenario, key, (n) => {
      this.streamBytesSent += n;
    });
  }
}

interface ChatBody {
  messages: { role: string; content: unknown }[];
  model?: string;
  max_cost_per_call?: number;
}

function isChatBody(body: unknown): body is ChatBody {
  return typeof body === 'object' && body !== null && Array.isArray((body as ChatBody).messages);
}

function defaultReply(body: ChatBody): string {
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  const text =
    typeof last?.content === 'string'
      ? last.content
      : Array.isArray(last?.content)
        ? (last.content as { text?: string }[]).map((p) => p.text ?? '').join(' ')
        : '';
  return `This is the Perf stand-in: no PERF_API_KEY is set, so no model was called. You wrote ${text.length} characters: "${text.slice(0, 200)}"`;
}

function codeFor(status: number): string {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 502) return 'provider_error';
  if (status === 503) return 'service_unavailable';
  return status >= 500 ? 'internal_error' : 'invalid_request';
}

function sendError(res: ServerResponse, status: number, code: string, type: string, message: string): void {
  const body = JSON.stringify({ error: { code, type, message, request_id: `req_${randomUUID()}` } });
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
}

interface Answer {
  model: string;
  reply: string;
  usage?: StandInUsage;
  /** null: reported without `perf.cost_usd`. */
  cost?: number | null;
  /** A stream's last chunk before [DONE], merged into a chunk (`choices: []` replaces the choices). */
  final?: Record<string, unknown> | undefined;
}

/** Answers a JSON completion. */
function sendCompletion(res: ServerResponse, answer: Required<Omit<Answer, 'final'>>): void {
  const perf: Record<string, unknown> = {
    request_id: `req_${randomUUID()}`,
    task_type: 'general',
    model_selected: answer.model,
    model_used: answer.model,
    latency_ms: 1,
    fallback_used: false,
  };
  if (answer.cost !== null) perf.cost_usd = answer.cost;
  const body = {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: answer.model,
    choices: [{ index: 0, message: { role: 'assistant', content: answer.reply }, finish_reason: 'stop' }],
    usage: answer.usage,
    perf,
  };
  res.writeHead(200, { 'Content-Type': 'application/json', 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '59' });
  res.end(JSON.stringify(body));
}

function chunk(
  id: string,
  model: string,
  delta: Record<string, unknown>,
  finish: string | null,
  extra: Record<string, unknown> = {},
): string {
  const payload = {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  };
  return `data: ${JSON.stringify(payload)}\n\n`;
}

async function sendStream(
  res: ServerResponse,
  answer: Answer,
  scenario: Scenario,
  key: string,
  onSent: (bytes: number) => void,
): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  if (scenario.stallBeforeFirstChunkMs !== undefined) await sleep(scenario.stallBeforeFirstChunkMs);
  const id = `chatcmpl-${randomUUID()}`;
  let sent = 0;
  for (const event of streamEvents(id, answer, scenario)) {
    if (res.destroyed) return;
    if (scenario.failAfterChunks !== undefined && sent >= scenario.failAfterChunks) {
      res.socket?.destroy();
      return;
    }
    onSent(event.length);
    const at = scenario.echoKey === 'reply' ? event.indexOf(key) : -1;
    if (at !== -1) {
      // The key split across two network writes: a relay that scanned chunks would miss it.
      res.write(event.slice(0, at + Math.floor(key.length / 2)));
      await sleep(20);
      res.write(event.slice(at + Math.floor(key.length / 2)));
    } else if (!res.write(event)) {
      await drained(res);
    }
    sent += 1;
    if (scenario.chunkDelayMs !== undefined && scenario.chunkDelayMs > 0) await sleep(scenario.chunkDelayMs);
  }
  res.end();
}

/** Made lazily: a 100 MB padding stream must not sit in the stand-in's memory either. */
function* streamEvents(id: string, answer: Answer, scenario: Scenario): Generator<string> {
  const { model } = answer;
  yield chunk(id, model, { role: 'assistant', content: '' }, null);
  if (scenario.paddingBytes !== undefined) {
    const piece = 'x'.repeat(16 * 1024);
    for (let sent = 0; sent < scenario.paddingBytes; sent += piece.length) yield chunk(id, model, { content: piece }, null);
  } else {
    for (const word of answer.reply.match(/\S+\s*/g) ?? [answer.reply]) yield chunk(id, model, { content: word }, null);
  }
  yield chunk(id, model, {}, 'stop');
  if (answer.final !== undefined) yield chunk(id, model, {}, null, answer.final);
  yield 'data: [DONE]\n\n';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
