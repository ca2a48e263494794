import { HttpError } from '../http/errors';
import { answerFacts } from '../perf/answer-facts';
import type { AnswerFacts } from '../perf/answer-facts';
import { UpstreamError, UpstreamTimeout, timeoutError } from '../perf/errors';
import type { CallContext } from './call-context';

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Calls Perf once (with its retries), settles from the reported cost, relays the JSON answer. */
export async function relayJson(ctx: CallContext): Promise<void> {
  const answer = await ctx.perf.open(ctx.body, { stream: false, signal: ctx.guard.signal, deadline: ctx.guard.deadline });
  ctx.facts.upstream_status = 200;
  ctx.facts.attempts = answer.attempts;
  // From here on Perf may have billed: every failure is answered=true, so the route keeps the cap.
  let raw: Buffer;
  try {
    raw = await readAll(answer.body);
  } catch (err) {
    const reason: unknown = ctx.guard.signal.reason;
    if (reason instanceof UpstreamTimeout) throw timeoutError('response', true);
    if (ctx.guard.isClientGone()) throw err;
    throw new UpstreamError(new HttpError(502, 'upstream_error', 'Perf broke off its answer.'), true, 200);
  } finally {
    ctx.guard.done();
  }
  let facts: AnswerFacts;
  try {
    facts = answerFacts(JSON.parse(raw.toString('utf8')));
  } catch {
    throw new UpstreamError(new HttpError(502, 'upstream_error', 'Perf gave an unreadable answer.'), true, 200);
  }
  if (facts.costUsd !== undefined) ctx.facts.cost_usd = facts.costUsd;
  if (facts.modelUsed !== undefined) ctx.facts.model_used = facts.modelUsed;
  if (facts.totalTokens !== undefined) ctx.facts.tokens = facts.totalTokens;
  await ctx.settlement.settleFromCost(facts.costUsd);
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
