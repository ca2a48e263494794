import supertest from 'supertest';
import { PREFLIGHT_MAX_AGE_SECONDS } from '../src/http/cross-site';
import { PASSWORD, startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';

const APP = 'https://app.example.com';
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'access-control-expose-headers',
];

function corsHeadersOf(res: supertest.Response): string[] {
  return CORS_HEADERS.filter((name) => res.headers[name] !== undefined);
}

describe('cross-site guard', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'memory', env: { ALLOWED_ORIGINS: APP } });
    await h.addUser('alice');
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  const login = (req: supertest.Test) => req.send({ username: 'alice', password: PASSWORD });

  test.each(['cross-site', 'same-site', 'Cross-Site', ' SAME-SITE '])(
    'when Sec-Fetch-Site is %j, a sign-in answers 403 csrf_rejected',
    async (site) => {
      const res = await login(supertest(h.url).post('/auth/login').set('Sec-Fetch-Site', site)).expect(403);
      expect(res.body.error.type).toBe('csrf_rejected');
    },
  );

  test.each(['https://evil.example', 'null', 'HTTPS://EVIL.EXAMPLE'])('when Origin is %j, answers 403', async (origin) => {
    await login(supertest(h.url).post('/auth/login').set('Origin', origin)).expect(403);
  });

  test('when Origin is ours (in any case) or listed in ALLOWED_ORIGINS, passes', async () => {
    await login(
      supertest(h.url).post('/auth/login').set('Origin', h.url.toUpperCase().replace('HTTP', 'http')).set('Sec-Fetch-Site', 'same-origin'),
    ).expect(200);
    await login(supertest(h.url).post('/auth/login').set('Origin', APP).set('Sec-Fetch-Site', 'same-site')).expect(200);
  });

  test('a cross-site chat call is refused before anything else', async () => {
    const agent = await h.signedIn();
    await agent.post('/api/chat').set('Sec-Fetch-Site', 'cross-site').send({ message: 'hi' }).expect(403);
    expect(h.standIn.requests).toHaveLength(0);
  });
});

describe('JSON bodies sent as text/plain (a fetch with no Content-Type)', () => {
  let h: Harness;
  let agent: supertest.Agent;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { ALLOWED_ORIGINS: APP } });
    agent = await h.signedIn();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  const plain = (req: supertest.Test, body: string) => req.set('Content-Type', 'text/plain;charset=UTF-8').send(body);

  test('from our own page (Sec-Fetch-Site: same-origin), the chat is answered', async () => {
    const res = await plain(
      agent.post('/api/chat').set('Sec-Fetch-Site', 'same-origin').set('Origin', h.url),
      '{"message":"Hello"}',
    ).expect(200);
    expect(res.body.choices[0].message.content).toContain('Hello');
    expect(h.standIn.requests).toHaveLength(1);
  });

  test('from a browser that sends no Sec-Fetch-Site but our Origin, the chat is answered', async () => {
    await plain(agent.post('/api/chat').set('Origin', h.url), '{"message":"Hello"}').expect(200);
  });

  test('sign-in accepts it from our own page too', async () => {
    await h.addUser('bob');
    await plain(
      supertest(h.url).post('/auth/login').set('Sec-Fetch-Site', 'same-origin'),
      JSON.stringify({ username: 'bob', password: PASSWORD }),
    ).expect(200);
  });

  test('without proof of same origin (no browser headers), answers 415 and calls nobody', async () => {
    const res = await plain(agent.post('/api/chat'), '{"message":"Hello"}').expect(415);
    expect(res.body.error.type).toBe('unsupported_media_type');
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('from an allowed origin of the same site, answers 415: such an app sends application/json', async () => {
    await plain(agent.post('/api/chat').set('Sec-Fetch-Site', 'same-site').set('Origin', APP), '{"message":"Hello"}').expect(415);
  });

  test('marked cross-site, answers 403 before the body is looked at', async () => {
    await plain(
      agent.post('/api/chat').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://evil.example'),
      '{"message":"Hello"}',
    ).expect(403);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('forms and multipart stay 415, even from our own page', async () => {
    await agent.post('/api/chat').set('Sec-Fetch-Site', 'same-origin').type('form').send('message=hi').expect(415);
    await agent.post('/api/chat').set('Sec-Fetch-Site', 'same-origin').field('message', 'hi').expect(415);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('text that is not JSON is a 400, as a broken JSON body is', async () => {
    const res = await plain(agent.post('/api/chat').set('Sec-Fetch-Site', 'same-origin'), 'Hello').expect(400);
    expect(res.body.error.type).toBe('invalid_request');
  });

  test('an anonymous text/plain chat is a 401, not a 415', async () => {
    await plain(supertest(h.url).post('/api/chat'), '{"message":"Hello"}').expect(401);
  });
});

describe('CORS for ALLOWED_ORIGINS', () => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { ALLOWED_ORIGINS: `${APP},https://admin.example.com` } });
    cookie = await h.sessionCookie();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('a preflight from an allowed origin answers 204 with the exact origin, credentials, methods, headers and max-age', async () => {
    const res = await supertest(h.url)
      .options('/api/chat')
      .set('Origin', APP)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-stainless-os')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,POST');
    expect(res.headers['access-control-allow-headers']).toBe('content-type,x-stainless-os');
    expect(res.headers['access-control-max-age']).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test('the same for /auth and for the OpenAI-compatible routes', async () => {
    for (const path of ['/auth/login', '/api/v1/chat/completions']) {
      const res = await supertest(h.url).options(path).set('Origin', APP).set('Access-Control-Request-Method', 'POST').expect(204);
      expect(res.headers['access-control-allow-origin']).toBe(APP);
    }
  });

  test('a credentialed chat from an allowed origin is answered, readable by that origin only', async () => {
    const res = await supertest(h.url)
      .post('/api/chat')
      .set('Origin', APP)
      .set('Sec-Fetch-Site', 'same-site')
      .set('Cookie', cookie)
      .send({ message: 'hi' })
      .expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-expose-headers']).toBe(
      'X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After,X-Request-Id',
    );
    expect(res.headers.vary).toMatch(/Origin/);
    expect(h.standIn.requests).toHaveLength(1);
  });

  test('a disallowed origin gets no CORS header on its preflight, and its request reaches nobody', async () => {
    const preflight = await supertest(h.url)
      .options('/api/chat')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(corsHeadersOf(preflight)).toEqual([]);
    const post = await supertest(h.url)
      .post('/api/chat')
      .set('Origin', 'https://evil.example')
      .set('Cookie', cookie)
      .send({ message: 'hi' })
      .expect(403);
    expect(corsHeadersOf(post)).toEqual([]);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('a look-alike of an allowed origin is not allowed', async () => {
    for (const origin of ['https://app.example.com.evil.example', 'http://app.example.com', 'https://app.example.co']) {
      const res = await supertest(h.url)
        .options('/api/chat')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .expect(204);
      expect(corsHeadersOf(res)).toEqual([]);
    }
  });

  test('pages and health checks get no CORS headers at all', async () => {
    const page = await supertest(h.url).get('/').set('Origin', APP).expect(200);
    expect(corsHeadersOf(page)).toEqual([]);
  });
});

describe('session cookie SameSite', () => {
  test('is Strict by default and follows SESSION_COOKIE_SAMESITE', async () => {
    for (const [setting, expected] of [
      [undefined, 'Strict'],
      ['lax', 'Lax'],
    ] as const) {
      const h = await startHarness({ mode: 'memory', env: setting === undefined ? {} : { SESSION_COOKIE_SAMESITE: setting } });
      try {
        await h.addUser('alice');
        const res = await supertest(h.url).post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
        expect((res.headers['set-cookie'] as unknown as string[])[0]).toMatch(new RegExp(`SameSite=${expected}`));
      } finally {
        await h.close();
      }
    }
  });
});
