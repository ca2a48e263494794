import path from 'node:path';
import supertest from 'supertest';
import { accountsOf, modes, startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';

/** What a signed-in caller's plan shows through the routes: the models list and the calls counted in /metrics. */
describe.each(modes())('routes that answer for the caller plan (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      mode,
      env: { PLANS_FILE: path.join(__dirname, '..', 'plans.example.json'), DEFAULT_PLAN: 'free' },
    });
  });
  afterAll(() => h.close());

  const accounts = () => accountsOf(h);
  const models = async (cookie: string): Promise<string[]> =>
    ((await supertest(h.url).get('/api/v1/models').set('Cookie', cookie).expect(200)).body as { data: { id: string }[] }).data.map(
      (m) => m.id,
    );

  test('GET /api/v1/models lists the models of the plan the user is on now, and follows a plan change at once', async () => {
    const cookie = await h.sessionCookie('pia');
    expect(await models(cookie)).toEqual(['auto', 'gpt-4o-mini']);
    expect(await accounts().setPlan('pia', 'pro')).toBe(true);
    expect(await models(cookie)).toEqual(['auto']);
  });

  test('perf_bff_calls_total counts each settled call under its plan and how it was settled', async () => {
    const count = async (plan: string): Promise<number> =>
      (await h.composition.metrics.calls.get()).values
        .filter((v) => v.labels.plan === plan && v.labels.settled === 'charge')
        .reduce((sum, v) => sum + v.value, 0);
    const before = await count('free');
    const cookie = await h.sessionCookie('quinn');
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' }).expect(200);
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'again' }).expect(200);
    expect(await count('free')).toBe(before + 2);
  });
});
