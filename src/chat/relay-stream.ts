import { drained } from '../http/drained';
import { errorBody, HttpError } from '../http/errors';
import { UpstreamError, UpstreamTimeout, timeoutError } from '../perf/errors';
import { SseSplitter, formatEvent } from '../perf/sse';
import type { SseEvent } from '../perf/sse';
import type { CallContext } from './call-context';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
} as const;

/**
 * Relays Perf's event stream as it arrives. Nothing is sent to the browser until Perf's first
 * bytes are in, so any failure before that is an ordinary JSON error; after that, a failure
 * ends the stream with a final `data: {"error":…}` event. The loop pulls the next upstream
 * chunk only once the browser has taken the last one, so a slow reader slows Perf's socket
 * down (TCP backpressure) instead of filling our memory.
 */
export async function relayStream(ctx: CallContext): Promise<void> {
  const { res, guard, facts } = ctx;
  const answer = await ctx.perf.open(ctx.body, { stream: true, signal: guard.signal, deadline: guard.deadline });
  facts.upstream_status = 200;
  facts.attempts = answer.attempts;
  const splitter = new SseSplitter();
  const upstream = answer.body[Symbol.asyncIterator]();
  let costUsd: number | undefined;
  const seen = { done: false };

  const forward = async (events: SseEvent[]): Promise<void> => {
    for (const event of events) {
      if (event.costUsd !== undefined) costUsd = event.costUsd;
      if (event.modelUsed !== undefined) facts.model_used = event.modelUsed;
      if (event.totalTokens !== undefined) facts.tokens = event.totalTokens;
      if (event.data === '[DONE]') seen.done = true;
      // The browser has gone: what is left is only read for its cost.
      if (guard.signal.aborted || res.destroyed) continue;
      if (!res.write(formatEvent(event.data))) {
        guard.suspendIdle();
        await drained(res);
        guard.touch();
      }
    }
  };

  let failure: UpstreamError | undefined;
  try {
    const first = await upstream.next();
    guard.switchToIdleTimeout(ctx.streamIdleTimeoutMs);
    res.status(200).set(SSE_HEADERS);
    res.flushHeaders();
    if (first.done !== true) await forward(splitter.push(first.value as Buffer));
    for (let next = await upstream.next(); next.done !== true; next = await upstream.next()) {
      guard.touch();
      await forward(splitter.push(next.value as Buffer));
    }
    await forward(splitter.end());
    if (!seen.done) failure = new UpstreamError(new HttpError(502, 'upstream_error', 'Perf ended the answer early.'), true, 200);
  } catch (err) {
    if (guard.isClientGone()) {
      facts.outcome = 'client_gone';
    } else if (guard.signal.reason instanceof UpstreamTimeout) {
      failure = timeoutError(guard.signal.reason.phase, true);
    } else {
      failure = new UpstreamError(new HttpError(502, 'upstream_error', 'Perf broke off the answer.'), true, 200);
      ctx.logger.warn({ err: { message: (err as Error).message } }, 'upstream stream failed');
    }
  } finally {
    guard.done();
    answer.body.destroy();
  }

  // A stream's cost is unknown unless Perf sent it: then the whole reservation stays charged.
  if (costUsd !== undefined) facts.cost_usd = costUsd;
  await ctx.settlement.settleFromCost(costUsd);

  if (failure !== undefined && !res.headersSent) throw failure;
  if (failure !== undefined) {
    facts.outcome = failure.httpError.type;
    const shape = res.locals.errorShape ?? errorBody;
    if (!res.writableEnded && !res.destroyed) res.write(formatEvent(JSON.stringify(shape(failure.httpError, ctx.requestId))));
  }
  if (!res.writableEnded && !res.destroyed) res.end();
}
