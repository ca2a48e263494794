import supertest from 'supertest';
import { PerfStandIn } from '../src/dev/perf-stand-in';
import type { StandInOptions } from '../src/dev/perf-stand-in';
import { costToMicros } from '../src/limits/money';
import { modes, startHarness, TEST_KEY } from './helpers/harness';
import type { Harness, Mode } from './helpers/harness';
import { openStream } from './helpers/sse-client';
import { eventually } from './helpers/wait';

/*
 * Streams cost what they cost: what Perf reports when it reports it (perf-bff asks with
 * stream_options.include_usage), else an estimate at the model's price learned from Perf's own
 * JSON answers (× STREAM_COST_MARGIN, at most the cap), else the whole cap, as before.
 */

/** Per million tokens, as the stand-in bills its default model. */
const PRICES = { 'stand-in-small': { input: 0.15, output: 0.6 } };
const MARGIN = 1.25;
const CAP = 0.01;
/** About a thousand tokens of answer. */
const LONG_REPLY = Array.from({ length: 1000 }, (_, i) => ['the', 'quick', 'brown', 'fox', 'jumps'][i % 5]).join(' ');

async function standInWith(options: Partial<StandInOptions>): Promise<PerfStandIn & { baseUrl: string }> {
  const standIn = new PerfStandIn({ apiKeys: [TEST_KEY], prices: PRICES, ...options }) as PerfStandIn & { baseUrl: string };
  standIn.baseUrl = await standIn.listen();
  return standIn;
}

interface Site {
  h: Harness;
  standIn: PerfStandIn & { baseUrl: string };
  close(): Promise<void>;
}

async function site(mode: Mode, standInOptions: Partial<StandInOptions>, env: Record<string, string> = {}): Promise<Site> {
  const standIn = await standInWith(standInOptions);
  const h = await startHarness({
    mode,
    standIn,
    env: { RATE_LIMIT_REQUESTS: '1000', DAILY_BUDGET_USD: '1', MAX_COST_PER_CALL: String(CAP), STREAM_COST_MARGIN: String(MARGIN), ...env },
  });
  return {
    h,
    standIn,
    close: async () => {
      await h.close();
      await standIn.close();
    },
  };
}

const chat = (h: Harness, cookie: string, body: object) => supertest(h.url).post('/api/chat').set('Cookie', cookie).send(body);
const usage = async (h: Harness, cookie: string) =>
  (await supertest(h.url).get('/api/usage').set('Cookie', cookie).expect(200)).body as {
    budget: { spent_usd: number; reserved_usd: number };
    today: { calls: number; reported_usd: number; estimated_usd: number; cap_kept_usd: number };
  };
const chatLines = (h: Harness) =>
  h.logs.parsed().filter((l) => l.msg === 'request' && (l.req as { path: string }).path === '/api/chat') as {
    call: Record<string, unknown>;
  }[];

/** Three JSON answers with different input/output mixes: enough to fit both prices of the model. */
async function teachPrices(s: Site, cookie: string): Promise<void> {
  const mixes = [
    { message: 'short question', reply: Array.from({ length: 120 }, () => 'word').join(' ') },
    { message: Array.from({ length: 300 }, () => 'context').join(' '), reply: 'yes' },
    { message: Array.from({ length: 60 }, () => 'middle').join(' '), reply: Array.from({ length: 40 }, () => 'answer').join(' ') },
  ];
  for (const { message, reply } of mixes) {
    s.standIn.enqueue({ reply });
    await chat(s.h, cookie, { message }).expect(200);
  }
}

describe.each(modes())('a stream whose Perf honours stream_options (%s stores)', (mode) => {
  let s: Site;
  beforeAll(async () => {
    s = await site(mode, { streamOptions: 'honour' });
  });
  afterAll(() => s.close());

  test('perf-bff asks for usage; the final chunk reports the cost; it is charged exactly', async () => {
    const cookie = await s.h.sessionCookie();
    s.standIn.enqueue({ reply: LONG_REPLY });
    const stream = await openStream(s.h.url, cookie, { message: 'tell me', stream: true });
    await stream.done;
    expect(s.standIn.requests.at(-1)?.body).toMatchObject({ stream_options: { include_usage: true } });
    const reported = s.standIn.reportedCosts.at(-1) ?? 0;
    expect(reported).toBeGreaterThan(0);
    await eventually(async () =>
      expect((await usage(s.h, cookie)).budget).toMatchObject({ spent_usd: costToMicros(reported) / 1e6, reserved_usd: 0 }),
    );
    expect((await usage(s.h, cookie)).today).toMatchObject({
      calls: 1,
      reported_usd: costToMicros(reported) / 1e6,
      estimated_usd: 0,
      cap_kept_usd: 0,
    });
    expect(chatLines(s.h).at(-1)?.call).toMatchObject({ settled: 'charge', cost_source: 'reported' });
    // The usage chunk was asked for by perf-bff, not by this caller: it is not relayed.
    expect(stream.events.some((e) => e.data.includes('"choices":[]'))).toBe(false);
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
  });

  test('an OpenAI-face caller that asks for usage gets the usage chunk', async () => {
    const cookie = await s.h.sessionCookie();
    const res = await supertest(s.h.url)
      .post('/api/v1/chat/completions')
      .set('Cookie', cookie)
      .send({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
      .expect(200);
    expect(res.text).toMatch(/"choices":\[\],"usage":\{"prompt_tokens":\d+/);
  });

  test('a usage chunk without a cost: the reported tokens at the learned price, an estimate', async () => {
    const cookie = await s.h.sessionCookie();
    await teachPrices(s, cookie);
    s.standIn.enqueue({ reply: LONG_REPLY, streamUsage: 'tokens' });
    await (
      await openStream(s.h.url, cookie, { message: 'tell me', stream: true })
    ).done;
    await eventually(() => expect(chatLines(s.h).at(-1)?.call).toMatchObject({ stream: true, cost_source: 'estimated' }));
  });
});

describe.each(modes())('a stream whose Perf reports no cost (%s stores)', (mode) => {
  let s: Site;
  beforeAll(async () => {
    s = await site(mode, { streamOptions: 'ignore' });
  });
  afterAll(() => s.close());

  test('with no price known for the model: the whole cap is kept, as before', async () => {
    const cookie = await s.h.sessionCookie();
    s.standIn.enqueue({ reply: 'a short answer' });
    await (
      await openStream(s.h.url, cookie, { message: 'x', stream: true, model: 'never-seen-model' })
    ).done;
    await eventually(async () => expect((await usage(s.h, cookie)).today).toMatchObject({ cap_kept_usd: CAP, estimated_usd: 0 }));
    expect(chatLines(s.h).at(-1)?.call).toMatchObject({ settled: 'keep', cost_source: 'cap_kept', charged_usd: CAP });
  });

  test('with a price learned from JSON answers: a 1,000-token answer is charged what it costs as JSON (× the margin), within 10%', async () => {
    const cookie = await s.h.sessionCookie();
    await teachPrices(s, cookie);
    const spentBefore = (await usage(s.h, cookie)).budget.spent_usd;
    // The same request, as JSON: what Perf bills for it.
    s.standIn.enqueue({ reply: LONG_REPLY });
    const json = await chat(s.h, cookie, { message: 'tell me everything' }).expect(200);
    const jsonCost = (json.body as { perf: { cost_usd: number }; usage: { completion_tokens: number } }).perf.cost_usd;
    expect((json.body as { usage: { completion_tokens: number } }).usage.completion_tokens).toBeGreaterThanOrEqual(1000);
    const afterJson = (await usage(s.h, cookie)).budget.spent_usd;
    expect(afterJson - spentBefore).toBeCloseTo(costToMicros(jsonCost) / 1e6, 6);

    s.standIn.enqueue({ reply: LONG_REPLY });
    const stream = await openStream(s.h.url, cookie, { message: 'tell me everything', stream: true });
    await stream.done;
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
    await eventually(async () => expect((await usage(s.h, cookie)).budget.reserved_usd).toBe(0));
    const charged = (await usage(s.h, cookie)).budget.spent_usd - afterJson;
    expect(charged).toBeLessThan(CAP);
    expect(charged / MARGIN).toBeGreaterThan(jsonCost * 0.9);
    expect(charged / MARGIN).toBeLessThan(jsonCost * 1.1);
    const today = (await usage(s.h, cookie)).today;
    expect(today.estimated_usd).toBeCloseTo(charged, 6);
    expect(chatLines(s.h).at(-1)?.call).toMatchObject({ settled: 'charge', cost_source: 'estimated' });
    // The spend report splits the day the same way.
    const entry = (await s.h.stores.spend.day(today_())).find((e) => e.estimatedMicros > 0);
    expect(entry?.estimatedMicros).toBe(Math.round(charged * 1e6));
  });

  test('a stream that broke off is not estimated: its cap is kept (Perf may bill the whole answer)', async () => {
    const cookie = await s.h.sessionCookie();
    await teachPrices(s, cookie);
    s.standIn.enqueue({ reply: LONG_REPLY, failAfterChunks: 20 });
    await (
      await openStream(s.h.url, cookie, { message: 'x', stream: true })
    ).done;
    await eventually(async () => expect((await usage(s.h, cookie)).today.cap_kept_usd).toBe(CAP));
  });

  test('the drift metric compares what the estimate would have been with what Perf reported', async () => {
    const cookie = await s.h.sessionCookie();
    const ratio = async () => {
      const metrics = await s.h.composition.metrics.registry.getSingleMetricAsString('perf_bff_cost_estimate_ratio');
      return {
        count: Number(/perf_bff_cost_estimate_ratio_count (\S+)/.exec(metrics)?.[1] ?? 0),
        sum: Number(/perf_bff_cost_estimate_ratio_sum (\S+)/.exec(metrics)?.[1] ?? 0),
      };
    };
    const before = await ratio();
    await teachPrices(s, cookie);
    await teachPrices(s, cookie);
    const after = await ratio();
    const count = after.count - before.count;
    const sum = after.sum - before.sum;
    expect(count).toBeGreaterThanOrEqual(3);
    // The stand-in prices exactly by tokens: once learned, the estimates are exact.
    expect(sum / count).toBeGreaterThan(0.95);
    expect(sum / count).toBeLessThan(1.05);
  });
  test('/metrics splits the spend by source: reported (JSON answers), estimated and cap_kept (the streams above)', async () => {
    const text = await s.h.composition.metrics.registry.getSingleMetricAsString('perf_bff_spend_usd_total');
    const spent = (source: string): number =>
      [...text.matchAll(new RegExp(`perf_bff_spend_usd_total\\{[^}]*source="${source}"[^}]*\\} (\\S+)`, 'g'))].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    expect(spent('reported')).toBeGreaterThan(0);
    expect(spent('estimated')).toBeGreaterThan(0);
    // Two streams above kept their whole cap: the unknown model's and the one that broke off.
    expect(spent('cap_kept')).toBeCloseTo(2 * CAP, 6);
  });
});

const today_ = (): string => new Date().toISOString().slice(0, 10);

describe('a Perf that refuses stream_options', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site('memory', { streamOptions: 'reject' });
  });
  afterAll(() => s.close());

  test('is asked again without it at once, and never again; the stream works', async () => {
    const cookie = await s.h.sessionCookie();
    const first = await openStream(s.h.url, cookie, { message: 'x', stream: true });
    await first.done;
    expect(first.res.statusCode).toBe(200);
    expect(first.events.at(-1)?.data).toBe('[DONE]');
    const bodies = s.standIn.requests.map((r) => r.body as Record<string, unknown>);
    expect(bodies.map((b) => 'stream_options' in b)).toEqual([true, false]);
    await (
      await openStream(s.h.url, cookie, { message: 'y', stream: true })
    ).done;
    expect('stream_options' in (s.standIn.requests.at(-1)?.body as object)).toBe(false);
    expect(s.h.logs.text).toContain('Perf does not take stream_options');
    // The refused attempt billed nothing: one call, one cap kept (no price known yet).
    await eventually(async () => expect((await usage(s.h, cookie)).today).toMatchObject({ calls: 2, cap_kept_usd: 2 * CAP }));
  });
});

describe("the operator's ceiling stays on the conservative side", () => {
  let s: Site;
  beforeAll(async () => {
    s = await site('redis', { streamOptions: 'ignore' }, { GLOBAL_DAILY_BUDGET_USD: '0.025' });
  });
  afterAll(() => s.close());

  test('an estimated stream charges the user its estimate but the ceiling its whole cap', async () => {
    const cookie = await s.h.sessionCookie();
    // Three JSON answers (reported: they count at their cost in the ceiling too).
    await teachPrices(s, cookie);
    for (let i = 0; i < 2; i += 1) {
      s.standIn.enqueue({ reply: 'a short estimated answer' });
      await (
        await openStream(s.h.url, cookie, { message: 'x', stream: true })
      ).done;
      await eventually(() => expect(chatLines(s.h).at(-1)?.call).toMatchObject({ cost_source: 'estimated' }));
    }
    // The user has spent cents of a dollar; the ceiling counts two caps, and a third no longer fits.
    expect((await usage(s.h, cookie)).budget.spent_usd).toBeLessThan(0.005);
    const refused = await chat(s.h, cookie, { message: 'one more' }).expect(503);
    expect(refused.body.error.type).toBe('service_budget_exhausted');
  });
});

describe('reservations still bound concurrent streams', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site('redis', { streamOptions: 'ignore' }, { DAILY_BUDGET_USD: '0.05' });
  });
  afterAll(() => s.close());

  test('eight streams at once against five caps of budget: five are admitted, whatever they will cost', async () => {
    // Prices are per model, for everyone: taught by another user, whose budget stays apart.
    await teachPrices(s, await s.h.sessionCookie());
    const cookie = await s.h.sessionCookie();
    s.standIn.setDefaults({ reply: 'slow answer here', chunkDelayMs: 100 });
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const stream = await openStream(s.h.url, cookie, { message: 'x', stream: true });
        await stream.done;
        return stream.res.statusCode;
      }),
    );
    expect(statuses.filter((c) => c === 200)).toHaveLength(5);
    expect(statuses.filter((c) => c === 429)).toHaveLength(3);
    // Settled at their estimates: most of the budget comes back.
    await eventually(async () => expect((await usage(s.h, cookie)).budget.spent_usd).toBeLessThan(0.01));
  });
});
