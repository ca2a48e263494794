import { readFileSync } from 'node:fs';
import path from 'node:path';
import { callTerms } from '../src/chat/call-terms';
import { entitlementFor } from '../src/limits/entitlement';
import { parsePlans } from '../src/limits/plans';
import type { Plan } from '../src/limits/plans';

const plan = (fields: Partial<Plan> = {}): Plan => ({
  name: 'p',
  requestsPerWindow: 10,
  windowSeconds: 60,
  dailyBudgetMicros: 1_000_000,
  maxCostPerCallMicros: 10_000,
  models: ['m1', 'm2'],
  maxTokens: 500,
  ...fields,
});

describe('the plans file', () => {
  test('plans.example.json is a valid plans file', () => {
    const { plans, problems } = parsePlans(readFileSync(path.join(__dirname, '..', 'plans.example.json'), 'utf8'));
    expect(problems).toEqual([]);
    expect([...plans.keys()]).toEqual(['free', 'pro', 'guest']);
    expect(plans.get('pro')).toEqual({
      name: 'pro',
      requestsPerWindow: 60,
      windowSeconds: 60,
      dailyBudgetMicros: 5_000_000,
      maxCostPerCallMicros: 50_000,
      models: '*',
      maxTokens: 4096,
    });
  });

  test('every problem is named at once, plan by plan', () => {
    const { problems } = parsePlans(
      JSON.stringify({
        ok: { requests_per_window: 1, window_seconds: 1, daily_budget_usd: 1, max_cost_per_call: 0.01, models: '*' },
        'Bad Name': { requests_per_window: 1, window_seconds: 1, daily_budget_usd: 1, max_cost_per_call: 0.01, models: '*' },
        broken: { requests_per_window: 0, window_seconds: 1.5, daily_budget_usd: 1, max_cost_per_call: 0.01, models: [], extra: 1 },
        tight: { requests_per_window: 1, window_seconds: 1, daily_budget_usd: 0.01, max_cost_per_call: 0.02, models: '*' },
      }),
    );
    expect(problems).toEqual([
      'plan "Bad Name": the name must be 1-32 lowercase letters, digits, _ or -',
      expect.stringMatching(/^plan "broken" "requests_per_window": /) as string,
      expect.stringMatching(/^plan "broken" "window_seconds": /) as string,
      expect.stringMatching(/^plan "broken" "models": /) as string,
      'plan "broken": unknown field "extra"',
      'plan "tight": max_cost_per_call is larger than daily_budget_usd, so no call could ever fit',
    ]);
  });

  test('not JSON, not an object, or no plan at all is said plainly', () => {
    expect(parsePlans('{').problems[0]).toMatch(/^is not valid JSON/);
    expect(parsePlans('[]').problems).toEqual(['must be a JSON object of plans']);
    expect(parsePlans('{}').problems).toEqual(['holds no plan']);
  });
});

describe('what a call may ask of Perf under its plan', () => {
  test.each([
    ['no model: Perf picks', {}, { model: undefined, maxTokens: 500, capMicros: 10_000 }],
    ['"auto" is no model', { model: 'auto' }, { model: undefined, maxTokens: 500, capMicros: 10_000 }],
    ['a model of the plan', { model: 'm2' }, { model: 'm2', maxTokens: 500, capMicros: 10_000 }],
    ['fewer tokens than the ceiling', { max_tokens: 100 }, { model: undefined, maxTokens: 100, capMicros: 10_000 }],
    ['a lower cap is kept', { max_cost_per_call: 0.001 }, { model: undefined, maxTokens: 500, capMicros: 1_000 }],
    ["a higher cap is cut to the plan's", { max_cost_per_call: 5 }, { model: undefined, maxTokens: 500, capMicros: 10_000 }],
  ])('%s', (_case, asked, terms) => {
    expect(callTerms({ messages: [{ role: 'user', content: 'hi' }], ...asked }, plan())).toEqual(terms);
  });

  test.each([
    [{ model: 'm3' }, 'Model "m3" is not available. Allowed: auto, m1, m2.'],
    [{ max_tokens: 501 }, 'Field "max_tokens": at most 500.'],
    [{ max_cost_per_call: 0.0000001 }, 'Field "max_cost_per_call": must be at least 0.000001 USD.'],
  ])('%j is a 400: %s', (asked, message) => {
    expect(() => callTerms({ messages: [{ role: 'user', content: 'hi' }], ...asked }, plan())).toThrow(message);
  });

  test('with models "*" any name goes; with no ceiling, no max_tokens is sent', () => {
    expect(
      callTerms({ messages: [{ role: 'user', content: 'hi' }], model: 'anything' }, plan({ models: '*', maxTokens: undefined })),
    ).toEqual({ model: 'anything', maxTokens: undefined, capMicros: 10_000 });
  });
});

describe('the windows and budgets a call counts in', () => {
  const pools = { globalDailyBudgetMicros: null, guestPoolDailyBudgetMicros: 2_000_000 };

  test('a user: their own window and budget', () => {
    expect(entitlementFor({ id: 'alice' }, plan(), pools)).toMatchObject({
      windows: [{ id: 'alice', requestsPerWindow: 10, windowSeconds: 60 }],
      budgets: [{ id: 'alice', budgetMicros: 1_000_000 }],
      kinds: ['own'],
    });
  });

  test("a guest: the session's, the address's, and the guests' pool", () => {
    expect(entitlementFor({ id: 'guest:1', guestAddress: '203.0.113.7' }, plan(), pools)).toMatchObject({
      windows: [{ id: 'guest:1' }, { id: 'guest-ip:203.0.113.7' }],
      budgets: [
        { id: 'guest:1', budgetMicros: 1_000_000 },
        { id: 'guest-ip:203.0.113.7', budgetMicros: 1_000_000 },
        { id: 'pool:guests', budgetMicros: 2_000_000 },
      ],
      kinds: ['own', 'address', 'guest_pool'],
    });
  });

  test("with an operator's ceiling, every call also reserves in it", () => {
    const e = entitlementFor({ id: 'alice' }, plan(), { ...pools, globalDailyBudgetMicros: 100_000_000 });
    expect(e.budgets.at(-1)).toEqual({ id: 'pool:global', budgetMicros: 100_000_000 });
    expect(e.kinds).toEqual(['own', 'global']);
  });
});
