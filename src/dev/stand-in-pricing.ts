import { countPromptTokens, countTextTokens } from '../perf/token-count';
import type { PerfChatBody } from '../perf/client';

/** USD per million tokens, per model. */
export type StandInPrices = Readonly<Record<string, { input: number; output: number }>>;

export interface StandInUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * What an answer of the stand-in reports about itself. With prices for its model, as Perf does:
 * the real token counts (the same tokenizer perf-bff estimates with) and their cost. Without,
 * rough counts (characters ÷ 4, no tokenizer to load) and the fixed cost the tests expect.
 */
export function usageOf(prices: StandInPrices | undefined, model: string, messages: unknown, reply: string): StandInUsage {
  const priced = prices?.[model] !== undefined;
  const prompt = priced ? countPromptTokens(messages as PerfChatBody['messages']) : rough(JSON.stringify(messages));
  const completion = priced ? countTextTokens(reply) : rough(reply);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** The cost of that usage at the model's price; `fallback` when the stand-in has none for it. */
export function costOf(prices: StandInPrices | undefined, model: string, usage: StandInUsage, fallback: number): number {
  const price = prices?.[model];
  if (price === undefined) return fallback;
  return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1e6;
}

function rough(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
