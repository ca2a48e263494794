import type { Readable } from 'node:stream';
import { HttpError } from '../http/errors';
import { answerFacts } from '../perf/answer-facts';
import { PerfCallError, UpstreamTimeout } from '../perf/failure';
import { MODEL_PATTERN } from '../limits/plans';
import type { TokenCounts } from '../limits/prices';
import type { CallContext, PriceObservation, Relayed } from './call-context';
import { browserErrorFor, outcomeOf } from './upstream-failure';

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Calls Perf once (with its retries) and reads its whole JSON answer; sending it waits for the settlement. */
export async function relayJson(ctx: CallContext): Promise<Relayed> {
  const { guard, facts, res } = ctx;
  let answer;
  try {
    answer = await ctx.perf.open(ctx.body, { stream: false, signal: guard.signal, deadline: guard.deadline });
  } catch (err) {
    guard.done();
    return failedToOpen(err, ctx);
  }
  facts.upstream_status = 200;
  facts.attempts = answer.attempts;
  // From here on Perf has answered: whatever goes wrong now, it did the work (and may bill).
  let raw: Buffer;
  try {
    raw = ctx.perf.echo.buffer(await readAll(answer.body), 'answer');
  } catch {
    if (guard.signal.reason instanceof UpstreamTimeout)
      return ended(new HttpError(504, 'upstream_timeout', 'Perf did not answer in time.'));
    if (guard.isClientGone()) return ended(undefined);
    return ended(new HttpError(502, 'upstream_error', 'Perf broke off its answer.'));
  } finally {
    guard.done();
  }
  let parsed;
  try {
    parsed = answerFacts(JSON.parse(raw.toString('utf8')));
  } catch {
    return ended(new HttpError(502, 'upstream_error', 'Perf gave an unreadable answer.'));
  }
  const { costUsd } = parsed;
  if (costUsd !== undefined) facts.cost_usd = costUsd;
  if (parsed.modelUsed !== undefined) facts.model_used = ctx.perf.echo.text(parsed.modelUsed, 'model_used');
  if (parsed.totalTokens !== undefined) facts.tokens = parsed.totalTokens;
  const observed = observation(facts.model_used, parsed.usage, costUsd);
  return {
    outcome: { kind: 'answered', costUsd },
    ...(observed === undefined ? {} : { observed }),
    finish: () => {
      if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': raw.length }).end(raw);
    },
  };
}

/** What an answer that reported its model, tokens and cost teaches about the model's prices. */
export function observation(
  model: string | undefined,
  usage: TokenCounts | undefined,
  costUsd: number | undefined,
): PriceObservation | undefined {
  if (model === undefined || !MODEL_PATTERN.test(model) || usage === undefined || costUsd === undefined) return undefined;
  return { model, counts: usage, costUsd };
}

/** Perf answered 200 but nothing usable reached us: its cost is unknown. */
function ended(error: HttpError | undefined): Relayed {
  return { outcome: { kind: 'answered', costUsd: undefined }, ...(error === undefined ? {} : { error }), finish: () => undefined };
}

/** The call never got a 200: the Perf client says why, and whether any attempt may have been billed. */
export function failedToOpen(err: unknown, ctx: CallContext): Relayed {
  if (!(err instanceof PerfCallError)) throw err;
  ctx.facts.attempts = err.attempts;
  if (err.failure.kind === 'status') ctx.facts.upstream_status = err.failure.status;
  const error = browserErrorFor(err.failure);
  return { outcome: outcomeOf(err), ...(error === undefined ? {} : { error }), finish: () => undefined };
}

async function readAll(body: Readable): Promise<Buffer> {
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
