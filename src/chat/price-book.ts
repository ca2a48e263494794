import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import { estimateUsd, pricesFrom } from '../limits/prices';
import type { PriceStore, PriceSums, TokenCounts, UnitPrices } from '../limits/prices';
import { countPromptTokens, countTextTokens } from '../perf/token-count';
import type { PerfChatBody } from '../perf/client';

export interface PriceBookOptions {
  store: PriceStore;
  /** PRICES_FILE: they win over learned prices. */
  filePrices: ReadonlyMap<string, UnitPrices>;
  logger: Logger;
  metrics?: Metrics | undefined;
  now: () => number;
  /** How often the learned prices of the other instances are read. */
  refreshMs?: number;
}

/** What a complete stream without a reported cost says about itself. */
export interface StreamTrace {
  model: string | undefined;
  messages: PerfChatBody['messages'];
  /** What was relayed of the answer's text. */
  completionText: string;
  /** Token counts, when Perf reported them (without a cost). */
  usage: TokenCounts | undefined;
}

/**
 * The prices the estimates use: PRICES_FILE's, else those learned from Perf's JSON answers, read
 * from this instance's copy. The copy is updated by every answer this instance observes and
 * refreshed from the store now and then, so that estimating a stream costs no Redis round trip.
 */
export class PriceBook {
  private learned = new Map<string, PriceSums>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PriceBookOptions) {}

  /** Reads every learned price; a failure leaves the copy as it was (estimates fall back to the cap). */
  async refresh(): Promise<void> {
    try {
      this.learned = await this.options.store.all();
    } catch (err) {
      this.options.logger.warn({ err: { message: (err as Error).message } }, 'could not read the learned prices');
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.refresh(), this.options.refreshMs ?? 60_000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  pricesFor(model: string): UnitPrices | undefined {
    return this.options.filePrices.get(model) ?? pricesFrom(this.learned.get(model));
  }

  /**
   * An answer that reported its tokens and cost: how far the estimate was (the drift metric),
   * then one more equation for the model's prices. Issued with the settlement, in its round trip.
   */
  async observe(model: string, counts: TokenCounts, costUsd: number): Promise<void> {
    const before = this.pricesFor(model);
    if (before !== undefined && costUsd > 0) this.options.metrics?.costEstimateRatio.observe(estimateUsd(before, counts) / costUsd);
    try {
      this.learned.set(model, await this.options.store.observe(model, counts, costUsd, this.options.now()));
    } catch (err) {
      this.options.logger.warn({ err: { message: (err as Error).message } }, 'could not record a price observation');
    }
  }

  /** What a complete stream cost at the model's known prices, or undefined when they are not known. */
  estimateStream(trace: StreamTrace): number | undefined {
    if (trace.model === undefined) return undefined;
    const prices = this.pricesFor(trace.model);
    if (prices === undefined) return undefined;
    const counts = trace.usage ?? { input: countPromptTokens(trace.messages), output: countTextTokens(trace.completionText) };
    return estimateUsd(prices, counts);
  }
}
