import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/infra/logger';
import { DEFAULT_OUTPUT_INPUT_RATIO, estimateUsd, MIN_OBSERVATIONS, observe, parsePrices, pricesFrom } from '../src/limits/prices';
import type { PriceSums, TokenCounts } from '../src/limits/prices';
import { MemoryPriceStore, RedisPriceStore } from '../src/stores/price-store';
import { createStoreClient } from '../src/stores/redis-client';
import type { RedisClient } from '../src/stores/redis-client';
import { deleteKeys, REDIS_URL } from './helpers/harness';

const HOUR = 3_600_000;
const IN = 0.15e-6;
const OUT = 0.6e-6;
const costAt = (c: TokenCounts, input = IN, output = OUT) => c.input * input + c.output * output;

function learn(
  answers: TokenCounts[],
  start = 0,
  price = { input: IN, output: OUT },
  sums?: PriceSums,
  stepMs = 1000,
): PriceSums | undefined {
  let s = sums;
  answers.forEach((counts, i) => {
    s = observe(s, counts, costAt(counts, price.input, price.output), start + i * stepMs, 24 * HOUR);
  });
  return s;
}

describe('learning a price from answers that report tokens and cost', () => {
  test('answers with different mixes give both prices exactly', () => {
    const prices = pricesFrom(
      learn([
        { input: 20, output: 400 },
        { input: 900, output: 3 },
        { input: 100, output: 100 },
      ]),
    );
    expect(prices?.inputUsdPerToken).toBeCloseTo(IN, 12);
    expect(prices?.outputUsdPerToken).toBeCloseTo(OUT, 12);
    expect(estimateUsd(prices!, { input: 50, output: 1000 })).toBeCloseTo(costAt({ input: 50, output: 1000 }), 12);
  });

  test(`fewer than ${MIN_OBSERVATIONS} answers teach nothing yet`, () => {
    expect(
      pricesFrom(
        learn([
          { input: 20, output: 400 },
          { input: 900, output: 3 },
        ]),
      ),
    ).toBeUndefined();
    expect(pricesFrom(undefined)).toBeUndefined();
  });

  test(`answers that all mix alike: one price along output = ${DEFAULT_OUTPUT_INPUT_RATIO} × input, right for that mix`, () => {
    const alike = [
      { input: 100, output: 50 },
      { input: 200, output: 100 },
      { input: 40, output: 20 },
    ];
    const prices = pricesFrom(learn(alike));
    expect(prices?.outputUsdPerToken).toBeCloseTo(DEFAULT_OUTPUT_INPUT_RATIO * (prices?.inputUsdPerToken ?? 0), 15);
    expect(estimateUsd(prices!, { input: 300, output: 150 })).toBeCloseTo(costAt({ input: 300, output: 150 }), 12);
  });

  test('a price change is followed: two half-lives later, a few new answers outweigh the old ones', () => {
    const mixes = [
      { input: 20, output: 400 },
      { input: 900, output: 3 },
      { input: 100, output: 100 },
    ];
    const old = learn([...mixes, ...mixes, ...mixes]);
    const doubled = learn(mixes, 48 * HOUR, { input: 2 * IN, output: 2 * OUT }, old);
    const estimate = estimateUsd(pricesFrom(doubled)!, { input: 50, output: 1000 });
    const truth = 2 * costAt({ input: 50, output: 1000 });
    expect(Math.abs(estimate - truth) / truth).toBeLessThan(0.25);
  });

  test("decay alone changes nothing: the fit depends on the sums' ratios, which it scales alike", () => {
    const sums = learn([
      { input: 20, output: 400 },
      { input: 900, output: 3 },
      { input: 100, output: 100 },
    ])!;
    const f = 0.5 ** 40;
    const decayed = { ...sums, ii: sums.ii * f, oo: sums.oo * f, io: sums.io * f, ic: sums.ic * f, oc: sums.oc * f };
    expect(pricesFrom(decayed)?.inputUsdPerToken).toBeCloseTo(IN, 12);
    expect(pricesFrom(decayed)?.outputUsdPerToken).toBeCloseTo(OUT, 12);
  });
});

describe('PRICES_FILE', () => {
  test('reads USD per million tokens per model', () => {
    const { prices, problems } = parsePrices('{"gpt-4o-mini": {"input_usd_per_million": 0.15, "output_usd_per_million": 0.6}}');
    expect(problems).toEqual([]);
    expect(prices.get('gpt-4o-mini')).toEqual({ inputUsdPerToken: 0.15e-6, outputUsdPerToken: 0.6e-6, source: 'file' });
  });

  test('names every problem at once', () => {
    const { problems } = parsePrices(
      '{"bad model!": {"input_usd_per_million": 1, "output_usd_per_million": 1}, "m": {"input_usd_per_million": -1}}',
    );
    expect(problems).toEqual([
      '"bad model!" is not a model name',
      '"m": input_usd_per_million Too small: expected number to be >=0',
      '"m": output_usd_per_million Invalid input: expected number, received undefined',
    ]);
    expect(parsePrices('[1]').problems).toEqual(['must be a JSON object of models']);
    expect(parsePrices('{').problems[0]).toMatch(/^is not valid JSON/);
  });
});

describe('the price stores apply the same rule', () => {
  let redis: RedisClient;
  const prefix = `perf-bff:test:${randomUUID()}:`;
  beforeAll(async () => {
    redis = createStoreClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
    await redis.connect();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.close();
  });

  test('Redis (one script, shared by instances) and memory give the same sums as observe()', async () => {
    const stores = [new RedisPriceStore(redis, prefix, 24 * HOUR), new MemoryPriceStore(24 * HOUR)];
    const answers: [TokenCounts, number, number][] = [
      [{ input: 20, output: 400 }, 0.000243, 1_000],
      [{ input: 900, output: 3 }, 0.0001368, 5 * HOUR],
      [{ input: 100, output: 100 }, 0.000075, 30 * HOUR],
    ];
    let expected: PriceSums | undefined;
    for (const [counts, cost, at] of answers) expected = observe(expected, counts, cost, at, 24 * HOUR);
    for (const store of stores) {
      let last: PriceSums | undefined;
      for (const [counts, cost, at] of answers) last = await store.observe('m-1', counts, cost, at);
      for (const key of Object.keys(expected!) as (keyof PriceSums)[]) expect(last?.[key]).toBeCloseTo(expected![key], 10);
      const all = await store.all();
      expect([...all.keys()]).toEqual(['m-1']);
      expect(all.get('m-1')?.count).toBe(3);
    }
  });
});
