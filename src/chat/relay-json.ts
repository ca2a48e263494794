import { HttpError } from '../http/errors';
import { costToMicros } from '../limits/money';
import { UpstreamError, UpstreamTimeout, timeoutError } from '../perf/errors';
import type { CallContext } from './call-context';

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

interface PerfAnswer {
  perf?: { cost_usd?: unknown; model_used?: unknown };
  usage?: { total_tokens?: unknown };
}

/** Calls Perf once (with its retries), settles from the reported cost, relays the JSON answer. */
export async function relayJson(ctx: CallContext): Promise<void> {
  const answer = await ctx.perf.open(ctx.body, { stream: false, signal: ctx.guard.signal, deadline: ctx.guard.deadline });
  ctx.facts.upstream_status = 200;
  ctx.facts.attempts = answer.attempts;
  let raw: Buffer;
  try {
    raw = await readAll(answer.body);
  } catch (err) {
    // Perf answered and may have billed; what it cost is unknown.
    await ctx.settlement.settle({ kind: 'keep' });
    const reason: unknown = ctx.guard.signal.reason;
    if (reason instanceof UpstreamTimeout) throw timeoutError('response', true);
    if (ctx.guard.isClientGone()) throw err;
    throw new UpstreamError(new HttpError(502, 'upstream_error', 'Perf broke off its answer.'), true, 200);
  } finally {
    ctx.guard.done();
  }
  let parsed: PerfAnswer;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as PerfAnswer;
  } catch {
    await ctx.settlement.settle({ kind: 'keep' });
    throw new UpstreamError(new HttpError(502, 'upstream_error', 'Perf gave an unreadable answer.'), true, 200);
  }
  const cost = parsed.perf?.cost_usd;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) {
    ctx.facts.cost_usd = cost;
    await ctx.settlement.settle({ kind: 'charge', micros: costToMicros(cost) });
  } else {
    await ctx.settlement.settle({ kind: 'keep' });
  }
  if (typeof parsed.perf?.model_used === 'string') ctx.facts.model_used = parsed.perf.model_used;
  if (typeof parsed.usage?.total_tokens === 'number') ctx.facts.tokens = parsed.usage.total_tokens;
  ctx.res.status(200).type('application/json').send(raw);
}

async function readAll(body: AsyncIterable<unknown> & { destroy(): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new Error('upstream answer too large');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
