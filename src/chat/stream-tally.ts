import type { TokenCounts } from '../limits/prices';
import type { CallOutcome } from '../limits/settle-policy';
import type { SseEvent } from '../perf/sse';
import type { PriceObservation } from './call-context';
import type { PriceBook } from './price-book';
import type { PerfChatBody } from '../perf/client';
import { observation } from './relay-json';

/** Past this much answer text the stream is not estimated (its cap is kept): the text is held until the end. */
const MAX_TRACE_CHARS = 4_000_000;
/** A stream's text is held as one flat string plus at most this many recent pieces. */
const FLATTEN_EVERY = 64;

/**
 * What a stream has said about its cost as it went by: a reported cost (a final chunk with
 * `perf.cost_usd`), the model, reported token counts, and the answer's text, so that a complete
 * stream without a reported cost can be estimated at the model's prices.
 */
export class StreamTally {
  costUsd: number | undefined;
  model: string | undefined;
  usage: TokenCounts | undefined;
  done = false;
  /** The answer's text so far: joined every FLATTEN_EVERY pieces (a string built with += keeps every piece as a node). */
  private text = '';
  private pieces: string[] = [];
  private textLength = 0;
  private overflow = false;

  /** Takes in one upstream event; `model` is its model name as it may be shown (key-echo filtered). */
  add(event: SseEvent, model: string | undefined): void {
    if (event.costUsd !== undefined) this.costUsd = event.costUsd;
    if (model !== undefined) this.model = model;
    if (event.usage !== undefined) this.usage = event.usage;
    if (event.data === '[DONE]') this.done = true;
    if (event.deltaText !== undefined && !this.overflow) {
      this.pieces.push(event.deltaText);
      this.textLength += event.deltaText.length;
      if (this.textLength > MAX_TRACE_CHARS) {
        this.overflow = true;
        this.text = '';
        this.pieces = [];
      } else if (this.pieces.length >= FLATTEN_EVERY) {
        this.text = this.completionText();
        this.pieces = [];
      }
    }
  }

  /**
   * How the call ended, for the money rule: Perf answered, with its reported cost, or (a complete
   * answer without one) our estimate at the model's known prices.
   */
  outcome(complete: boolean, prices: PriceBook, messages: PerfChatBody['messages']): CallOutcome {
    if (this.costUsd !== undefined || !complete || this.overflow) return { kind: 'answered', costUsd: this.costUsd };
    const estimatedUsd = prices.estimateStream({ model: this.model, messages, completionText: this.completionText(), usage: this.usage });
    return estimatedUsd === undefined ? { kind: 'answered', costUsd: undefined } : { kind: 'answered', costUsd: undefined, estimatedUsd };
  }

  private completionText(): string {
    // join() builds one flat string (a + would add a node over the two).
    return this.pieces.length === 0 ? this.text : [this.text, ...this.pieces].join('');
  }

  observation(): PriceObservation | undefined {
    return observation(this.model, this.usage, this.costUsd);
  }
}
