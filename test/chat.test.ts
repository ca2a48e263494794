import supertest from 'supertest';
import { STAND_IN_COST_USD } from '../src/dev/perf-stand-in';
import { modes, startHarness, TEST_KEY } from './helpers/harness';
import type { Harness } from './helpers/harness';

describe.each(modes())('POST /api/chat (%s stores)', (mode) => {
  let h: Harness;
  let agent: supertest.Agent;
  beforeAll(async () => {
    h = await startHarness({ mode, env: { MAX_COST_PER_CALL: '0.005', UPSTREAM_TIMEOUT_MS: '800', RATE_LIMIT_REQUESTS: '1000' } });
    agent = await h.signedIn();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('without a session, answers 401 unauthorized and makes no upstream call', async () => {
    const res = await supertest(h.url).post('/api/chat').send({ message: 'hi' }).expect(401);
    expect(res.body.error.type).toBe('unauthorized');
    expect(h.standIn.requests).toHaveLength(0);
  });

  test("relays Perf's JSON answer, with the key added server-side", async () => {
    const res = await agent.post('/api/chat').send({ message: 'What is the capital of France?' }).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.object).toBe('chat.completion');
    expect(res.body.choices[0].message.content).toContain('capital of France');
    expect(res.body.perf.cost_usd).toBe(STAND_IN_COST_USD);
    expect(h.standIn.requests).toHaveLength(1);
    expect(h.standIn.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(h.standIn.requests[0]?.path).toBe('/v1/chat');
  });

  test('the upstream receives exactly the allowed fields and max_cost_per_call capped to MAX_COST_PER_CALL', async () => {
    const allowed = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hello' }], name: 'alice' },
      ],
      model: 'gpt-4o-mini',
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
    };
    await agent
      .post('/api/chat')
      .send({ ...allowed, max_cost_per_call: 0.5 })
      .expect(200);
    expect(h.standIn.requests[0]?.body).toEqual({ ...allowed, max_cost_per_call: 0.005 });
  });

  test('a lower client cap is kept; no cap means the server cap is sent', async () => {
    await agent.post('/api/chat').send({ message: 'a', max_cost_per_call: 0.001 }).expect(200);
    await agent.post('/api/chat').send({ message: 'b' }).expect(200);
    expect(h.standIn.requests.map((r) => (r.body as { max_cost_per_call: number }).max_cost_per_call)).toEqual([0.001, 0.005]);
    expect(h.standIn.requests[1]?.body).toEqual({ messages: [{ role: 'user', content: 'b' }], max_cost_per_call: 0.005 });
  });

  test('no browser header reaches Perf: cookies, authorization, forwarding headers stay behind', async () => {
    await agent
      .post('/api/chat')
      .set('Authorization', 'Bearer pk_test_browser_supplied_key')
      .set('X-Forwarded-For', '10.1.2.3')
      .set('X-Custom', 'leak')
      .send({ message: 'hi' })
      .expect(200);
    const headers = h.standIn.requests[0]?.headers ?? {};
    expect(headers.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(headers.cookie).toBeUndefined();
    expect(headers['x-forwarded-for']).toBeUndefined();
    expect(headers['x-custom']).toBeUndefined();
    expect(Object.keys(headers).sort()).toEqual([
      'accept',
      'authorization',
      'connection',
      'content-length',
      'content-type',
      'host',
      'user-agent',
    ]);
  });

  test('the answer carries allow-listed headers only: no upstream Set-Cookie or upstream rate-limit headers', async () => {
    h.standIn.enqueue({ setCookie: true });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    // X-RateLimit-* are ours (the caller's own limit), not Perf's account-wide 60/59.
    expect(res.headers['x-ratelimit-limit']).toBe('1000');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  test.each([
    [{ message: 'hi', extra: 1 }, /Unknown field: "extra"/],
    [{ messages: [{ role: 'user', content: 'hi', tool: 'x' }] }, /Unknown field in "messages.0": "tool"/],
    [JSON.parse('{"message":"hi","__proto__":{"admin":true}}') as object, /Unknown field: "__proto__"/],
    [{ message: 'hi', constructor: { prototype: {} } }, /Unknown field: "constructor"/],
    [{}, /either "messages" or "message"/],
    [{ message: 'hi', messages: [{ role: 'user', content: 'x' }] }, /either "messages" or "message"/],
    [{ messages: [] }, /"messages"/],
    [{ messages: [{ role: 'tool', content: 'x' }] }, /"messages.0.role"/],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }] }, /"messages.0.content/],
    [{ message: '' }, /"message"/],
    [{ message: 'hi', temperature: 2.5 }, /"temperature"/],
    [{ message: 'hi', max_cost_per_call: -1 }, /"max_cost_per_call"/],
    [{ message: 'hi', max_cost_per_call: 0.0000001 }, /max_cost_per_call/],
    [{ message: 'hi', max_tokens: 1.5 }, /"max_tokens"/],
    [{ message: 'hi', stream: 'yes' }, /"stream"/],
    [{ message: 'x'.repeat(100_001) }, /"message"/],
    [['hi'], /JSON object/],
  ])('when the body is %j, answers 400 naming the problem, with no upstream call', async (body, message) => {
    const res = await agent.post('/api/chat').send(body).expect(400);
    expect(res.body.error.type).toBe('invalid_request');
    expect(res.body.error.message).toMatch(message);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('when the body is not JSON, answers 400; when it is over 1 MB, 413; when it is a form, 415', async () => {
    const broken = await agent.post('/api/chat').set('Content-Type', 'application/json').send('{"message":').expect(400);
    expect(broken.body.error.type).toBe('invalid_request');
    const big = await agent
      .post('/api/chat')
      .send({ message: 'x'.repeat(1024 * 1024 + 10) })
      .expect(413);
    expect(big.body.error.type).toBe('payload_too_large');
    expect(big.headers['x-ratelimit-limit']).toBe('1000');
    const form = await agent.post('/api/chat').type('form').send('message=hi').expect(415);
    // Each refused request spent one of the window.
    expect(Number(form.headers['x-ratelimit-remaining'])).toBe(Number(big.headers['x-ratelimit-remaining']) - 1);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('Perf 401 becomes 502 upstream_auth_failed, with an error log line telling the operator to check the key', async () => {
    h.standIn.enqueue({ status: 401 });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(502);
    expect(res.body.error.type).toBe('upstream_auth_failed');
    expect(JSON.stringify(res.body)).not.toMatch(/invalid_api_key|Invalid API key/);
    const line = h.logs.parsed().find((l) => typeof l.msg === 'string' && l.msg.includes('Perf rejected the API key'));
    expect(line?.level).toBe(50);
    expect(h.logs.text).not.toContain(TEST_KEY);
  });

  test('Perf 403 becomes 502 upstream_auth_failed', async () => {
    h.standIn.enqueue({ status: 403 });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(502);
    expect(res.body.error.type).toBe('upstream_auth_failed');
  });

  test('Perf 429 with a long Retry-After becomes 503 upstream_rate_limited with Retry-After, not retried', async () => {
    h.standIn.enqueue({ status: 429, retryAfterSeconds: 30 });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(503);
    expect(res.body.error).toMatchObject({ type: 'upstream_rate_limited', retry_after: 30 });
    expect(res.headers['retry-after']).toBe('30');
    expect(h.standIn.requests).toHaveLength(1);
  });

  test("Perf 5xx on every attempt becomes 502 upstream_error, never showing Perf's body", async () => {
    h.standIn.enqueue({ status: 500 }, { status: 502 }, { status: 503 });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(502);
    expect(res.body.error.type).toBe('upstream_error');
    expect(JSON.stringify(res.body)).not.toContain('stand-in');
    expect(Object.keys(res.body.error).sort()).toEqual(['message', 'request_id', 'type']);
  });

  test('a dropped connection on every attempt becomes 502 upstream_unavailable', async () => {
    h.standIn.enqueue({ dropConnection: true }, { dropConnection: true }, { dropConnection: true });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(502);
    expect(res.body.error.type).toBe('upstream_unavailable');
  });

  test('Perf slower than UPSTREAM_TIMEOUT_MS becomes 504 upstream_timeout within that time', async () => {
    h.standIn.enqueue({ hang: true });
    const started = Date.now();
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(504);
    const elapsed = Date.now() - started;
    expect(res.body.error.type).toBe('upstream_timeout');
    expect(elapsed).toBeGreaterThanOrEqual(750);
    // Perf never answers: only the deadline ends the call (the margin is for a loaded machine).
    expect(elapsed).toBeLessThan(800 + 1000);
  });

  test("Perf 400 becomes 400 invalid_request without Perf's wording", async () => {
    h.standIn.enqueue({ status: 400 });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request', message: 'Perf refused the request as invalid.' });
  });

  test('every error body has the contract shape and the request id also sent as X-Request-Id', async () => {
    const res = await agent.post('/api/chat').send({ bogus: true }).expect(400);
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
  });

  test('the Perf key appears in no response body or header, whatever happens', async () => {
    const scenarios = [{}, { status: 401 }, { status: 500 }, { status: 429, retryAfterSeconds: 9 }, { hang: true }];
    for (const scenario of scenarios) {
      h.standIn.reset();
      h.standIn.enqueue(scenario, scenario, scenario);
      const res = await agent.post('/api/chat').send({ message: 'hi', stream: false });
      expect(JSON.stringify(res.headers)).not.toContain(TEST_KEY);
      expect(res.text).not.toContain(TEST_KEY);
      expect(res.text).not.toContain('pk_test_');
    }
  });
});

describe.each(modes())('per-user rate limit (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode, env: { RATE_LIMIT_REQUESTS: '5', RATE_LIMIT_WINDOW_SECONDS: '60' } });
  });
  afterAll(() => h.close());

  test('20 concurrent requests against a limit of 5 let exactly 5 through; the rest get 429 and no upstream call', async () => {
    const agent = await h.signedIn();
    h.standIn.reset();
    const answers = await Promise.all(Array.from({ length: 20 }, () => agent.post('/api/chat').send({ message: 'hi' })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(h.standIn.requests).toHaveLength(5);
    const rejected = answers.find((r) => r.status === 429);
    expect(rejected?.body.error.type).toBe('rate_limit_exceeded');
    const retryAfter = Number(rejected?.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(rejected?.body.error.retry_after).toBe(retryAfter);
    for (const res of answers) {
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
      expect(Number(res.headers['x-ratelimit-reset'])).toBeLessThanOrEqual(Date.now() / 1000 + 61);
    }
    expect(answers.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b)).toEqual([
      ...Array(16).fill(0),
      1,
      2,
      3,
      4,
    ]);
  });

  test('the limit is per user: another user is not affected', async () => {
    const first = await h.signedIn();
    const second = await h.signedIn();
    for (let i = 0; i < 5; i += 1) await first.post('/api/chat').send({ message: 'hi' }).expect(200);
    await first.post('/api/chat').send({ message: 'hi' }).expect(429);
    await second.post('/api/chat').send({ message: 'hi' }).expect(200);
  });
});

describe('two app instances on one Redis', () => {
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    a = await startHarness({ mode: 'redis', env: { RATE_LIMIT_REQUESTS: '5' } });
    b = await startHarness({ mode: 'redis', prefix: a.prefix, env: { RATE_LIMIT_REQUESTS: '5' } });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  test('a session made on one instance is valid on the other, and a logout on either ends it on both', async () => {
    const agentA = await a.signedIn('shared-user');
    const cookie = ((await agentA.get('/auth/me')).request as unknown as { cookies: string }).cookies;
    expect(cookie).toMatch(/perf-bff\.sid=/);
    await supertest(b.url).get('/auth/me').set('Cookie', cookie).expect(200);
    await supertest(b.url).post('/auth/logout').set('Cookie', cookie).expect(204);
    await supertest(a.url).get('/auth/me').set('Cookie', cookie).expect(401);
  });

  test('the rate limit is shared: 5 on one and then the other, 429 across both', async () => {
    const agentA = await a.signedIn();
    const cookie = ((await agentA.get('/auth/me')).request as unknown as { cookies: string }).cookies;
    const calls = Array.from({ length: 12 }, (_, i) =>
      supertest(i % 2 === 0 ? a.url : b.url)
        .post('/api/chat')
        .set('Cookie', cookie)
        .send({ message: 'hi' }),
    );
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });
});

describe('security headers and health', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis' });
  });
  afterAll(() => h.close());

  test('the page is served with a strict CSP and without X-Powered-By', async () => {
    const res = await supertest(h.url).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(res.text).not.toMatch(/\son[a-z]+=/i);
  });

  test('GET /healthz answers 200 and GET /readyz 200 while Redis answers', async () => {
    await supertest(h.url).get('/healthz').expect(200);
    await supertest(h.url).get('/readyz').expect(200);
  });

  test('unknown API routes answer a JSON 404', async () => {
    const res = await supertest(h.url).get('/api/nope').expect(404);
    expect(res.body.error.type).toBe('not_found');
    await supertest(h.url).get('/auth/nope').expect(404);
  });
});
