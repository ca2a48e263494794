import { z } from 'zod';
import { jsonObject } from './json-object';
import { MODEL_PATTERN } from './plans';

/**
 * What a model costs per token, learned from Perf's own JSON answers (each reports its tokens and
 * `perf.cost_usd`), so that a stream that reports no cost can be charged an estimate instead of
 * its whole cap.
 *
 * Each answer is one equation, cost = input tokens × a + output tokens × b, with two unknowns.
 * The answers of a model are kept as the sums of a least-squares fit, every sum decayed by the
 * same factor as time passes (a half-life), so that a price change is followed and an old price
 * fades; decay alone changes nothing while no new answer comes, since the fit depends only on
 * the sums' ratios. When the answers seen so far cannot tell the two prices apart (all with
 * about the same input/output mix) or the fit comes out negative, output is taken to cost
 * DEFAULT_OUTPUT_INPUT_RATIO times input — what most providers charge — and one price is fitted.
 */

export interface TokenCounts {
  input: number;
  output: number;
}

export interface UnitPrices {
  inputUsdPerToken: number;
  outputUsdPerToken: number;
  /** 'file': the operator's PRICES_FILE; 'learned': fitted from Perf's answers. */
  source: 'learned' | 'file';
}

/** The decayed sums of a least-squares fit of cost = a·input + b·output. */
export interface PriceSums {
  /** Σ input², Σ output², Σ input·output, Σ input·cost, Σ output·cost (decayed). */
  ii: number;
  oo: number;
  io: number;
  ic: number;
  oc: number;
  /** Answers observed (not decayed): fewer than MIN_OBSERVATIONS teach nothing yet. */
  count: number;
  /** Epoch ms of the last observation: the decay runs from here. */
  at: number;
}

export const MIN_OBSERVATIONS = 3;
export const DEFAULT_OUTPUT_INPUT_RATIO = 4;
/** Below this, the two columns are too alike to be told apart (1 − correlation²). */
const DISTINCT_ENOUGH = 1e-3;

/** Learned prices, shared by every instance; the store applies `observe` atomically. */
export interface PriceStore {
  /** Adds one answer to the model's sums; returns them as they are now. */
  observe(model: string, counts: TokenCounts, costUsd: number, now: number): Promise<PriceSums>;
  /** Every model's sums. */
  all(): Promise<Map<string, PriceSums>>;
}

/** The rule every store applies (the Redis script mirrors it, line for line). */
export function observe(previous: PriceSums | undefined, counts: TokenCounts, costUsd: number, now: number, halfLifeMs: number): PriceSums {
  const decay = previous === undefined ? 0 : 0.5 ** (Math.max(0, now - previous.at) / halfLifeMs);
  const p = previous ?? { ii: 0, oo: 0, io: 0, ic: 0, oc: 0, count: 0, at: now };
  const { input: i, output: o } = counts;
  return {
    ii: p.ii * decay + i * i,
    oo: p.oo * decay + o * o,
    io: p.io * decay + i * o,
    ic: p.ic * decay + i * costUsd,
    oc: p.oc * decay + o * costUsd,
    count: p.count + 1,
    at: Math.max(p.at, now),
  };
}

/** The prices the sums support, or undefined when they do not support any yet. */
export function pricesFrom(sums: PriceSums | undefined): UnitPrices | undefined {
  if (sums === undefined || sums.count < MIN_OBSERVATIONS) return undefined;
  const { ii, oo, io, ic, oc } = sums;
  const det = ii * oo - io * io;
  if (ii > 0 && oo > 0 && det > DISTINCT_ENOUGH * ii * oo) {
    const a = (ic * oo - oc * io) / det;
    const b = (oc * ii - ic * io) / det;
    if (a >= 0 && b >= 0 && a + b > 0) return { inputUsdPerToken: a, outputUsdPerToken: b, source: 'learned' };
  }
  // One price along the usual ratio: cost = a·(input + r·output).
  const r = DEFAULT_OUTPUT_INPUT_RATIO;
  const ww = ii + 2 * r * io + r * r * oo;
  const wc = ic + r * oc;
  if (!(ww > 0) || !(wc > 0)) return undefined;
  const a = wc / ww;
  return { inputUsdPerToken: a, outputUsdPerToken: r * a, source: 'learned' };
}

export function estimateUsd(prices: UnitPrices, counts: TokenCounts): number {
  return counts.input * prices.inputUsdPerToken + counts.output * prices.outputUsdPerToken;
}

const perMillion = z.number().min(0).max(10_000);
const priceShape = z.strictObject({ input_usd_per_million: perMillion, output_usd_per_million: perMillion });

/**
 * Reads a prices file (JSON) with every problem named at once:
 * `{ "<model>": { "input_usd_per_million": 0.15, "output_usd_per_million": 0.6 } }`.
 * The operator's prices win over learned ones for the models they name.
 */
export function parsePrices(json: string): { prices: Map<string, UnitPrices>; problems: string[] } {
  const file = jsonObject(json, 'models');
  if ('problem' in file) return { prices: new Map(), problems: [file.problem] };
  const prices = new Map<string, UnitPrices>();
  const problems: string[] = [];
  for (const [model, fields] of Object.entries(file.raw)) {
    if (!MODEL_PATTERN.test(model)) problems.push(`"${model}" is not a model name`);
    const parsed = priceShape.safeParse(fields);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`"${model}": ${issue.path.join('.') || 'its value'} ${issue.message}`);
      continue;
    }
    prices.set(model, {
      inputUsdPerToken: parsed.data.input_usd_per_million / 1e6,
      outputUsdPerToken: parsed.data.output_usd_per_million / 1e6,
      source: 'file',
    });
  }
  return { prices, problems };
}
