import { HttpError } from '../http/errors';
import { drained } from '../infra/drained';
import { UpstreamTimeout } from '../perf/failure';
import { SseReader, formatEvent } from '../perf/sse';
import type { SseEvent } from '../perf/sse';
import type { CallContext, Relayed } from './call-context';
import { Heartbeat } from './heartbeat';
import { StreamTally } from './stream-tally';
import { failedToOpen } from './relay-json';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
} as const;

/**
 * Relays Perf's event stream as it arrives. Nothing is sent to the browser until Perf's first
 * bytes are in, or until a heartbeat is due (STREAM_HEARTBEAT_MS of waiting), so a failure before
 * either is an ordinary JSON error; after that, a failure ends the stream with a final
 * `data: {"error":…}` event. The loop pulls the next upstream chunk only once the browser has
 * taken the last one, so a slow reader slows Perf's socket down (TCP backpressure) instead of
 * filling our memory.
 */
export async function relayStream(ctx: CallContext): Promise<Relayed> {
  const heartbeat = new Heartbeat(ctx.res, ctx.streamHeartbeatMs, () => startEventStream(ctx));
  try {
    return await relay(ctx, heartbeat);
  } finally {
    heartbeat.stop();
  }
}

function startEventStream(ctx: CallContext): void {
  ctx.res.writeHead(200, SSE_HEADERS);
  ctx.res.flushHeaders();
}

async function relay(ctx: CallContext, heartbeat: Heartbeat): Promise<Relayed> {
  const { res, guard, facts } = ctx;
  let answer;
  try {
    answer = await ctx.perf.open(ctx.body, { stream: true, signal: guard.signal, deadline: guard.deadline });
  } catch (err) {
    guard.done();
    const failed = failedToOpen(err, ctx);
    // A heartbeat already said 200: the failure is the stream's only event.
    return res.headersSent ? { ...failed, finish: () => endStream(ctx, failed.error) } : failed;
  }
  facts.upstream_status = 200;
  facts.attempts = answer.attempts;
  const reader = new SseReader();
  const upstream = answer.body[Symbol.asyncIterator]();
  const tally = new StreamTally();

  const forward = async (events: SseEvent[]): Promise<void> => {
    for (const event of events) {
      // Filtered once per name, not once per chunk: every chunk repeats it.
      const model =
        event.modelUsed === undefined || event.modelUsed === tally.model ? undefined : ctx.perf.echo.text(event.modelUsed, 'model_used');
      tally.add(event, model);
      if (model !== undefined) facts.model_used = model;
      if (event.totalTokens !== undefined) facts.tokens = event.totalTokens;
      if (guard.signal.aborted || res.destroyed) continue;
      // The usage chunk we asked Perf for is the caller's only if they asked for it too.
      if (event.usageOnly === true && !ctx.wantsUsage) continue;
      const flushed = res.write(formatEvent(ctx.perf.echo.text(event.data, 'stream')));
      heartbeat.wrote();
      if (event.data === '[DONE]') facts.delivered = true;
      if (!flushed) {
        guard.waitForBrowser();
        await drained(res);
        guard.browserCaughtUp();
      }
    }
  };

  let error: HttpError | undefined;
  try {
    const first = await upstream.next();
    guard.switchToIdleTimeout(ctx.streamIdleTimeoutMs);
    if (!res.headersSent) startEventStream(ctx);
    if (first.done !== true) await forward(reader.push(first.value as Buffer));
    for (let next = await upstream.next(); next.done !== true; next = await upstream.next()) {
      guard.touch();
      await forward(reader.push(next.value as Buffer));
    }
    await forward(reader.end());
    if (!tally.done) error = new HttpError(502, 'upstream_error', 'Perf ended the answer early.');
  } catch (err) {
    if (guard.signal.reason instanceof UpstreamTimeout) {
      error = new HttpError(
        504,
        'upstream_timeout',
        guard.signal.reason.phase === 'idle' ? 'Perf stopped sending the answer.' : 'Perf did not answer in time.',
      );
    } else if (guard.isBrowserStalled()) {
      facts.outcome = 'browser_stalled';
      ctx.logger.warn({ idle_ms: ctx.streamIdleTimeoutMs }, 'stream ended: the browser took nothing for STREAM_IDLE_TIMEOUT_MS');
    } else if (!guard.isClientGone()) {
      error = new HttpError(502, 'upstream_error', 'Perf broke off the answer.');
      ctx.logger.warn({ err: { message: (err as Error).message } }, 'upstream stream failed');
    }
  } finally {
    guard.done();
    answer.body.destroy();
  }
  if (tally.costUsd !== undefined) facts.cost_usd = tally.costUsd;
  const complete = tally.done && error === undefined && facts.outcome !== 'browser_stalled';
  const observed = tally.observation();
  return {
    // Perf answered: the cost is what its last chunks said, or else our estimate of a complete answer.
    outcome: tally.outcome(complete, ctx.prices, ctx.body.messages),
    ...(error === undefined ? {} : { error }),
    ...(observed === undefined ? {} : { observed }),
    finish: () => endStream(ctx, error),
  };
}

/** The stream's end: its final error event, if any. */
function endStream(ctx: CallContext, error: HttpError | undefined): void {
  const { res } = ctx;
  if (res.writableEnded || res.destroyed) return;
  if (error !== undefined) res.write(formatEvent(JSON.stringify(ctx.errorShape(error, ctx.requestId))));
  res.end();
}
