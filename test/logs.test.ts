import supertest from 'supertest';
import { STAND_IN_COST_USD } from '../src/dev/perf-stand-in';
import { PASSWORD, startHarness, TEST_KEY } from './helpers/harness';
import type { Harness } from './helpers/harness';

describe('request logs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(() => h.close());

  test('one JSON line per request with metadata, and never the key, a password, a session id or prompt text', async () => {
    const prompt = 'my-very-private-prompt-text-4242';
    await h.addUser('logger-user');
    const login = await supertest(h.url)
      .post('/auth/login')
      .set('X-Request-Id', 'router-id-12345678')
      .send({ username: 'logger-user', password: PASSWORD })
      .expect(200);
    const cookie = ((login.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
    const sessionId =
      decodeURIComponent(cookie.split('=')[1] ?? '')
        .slice(2)
        .split('.')[0] ?? '';
    expect(sessionId.length).toBeGreaterThan(10);
    await supertest(h.url).post('/auth/login').send({ username: 'logger-user', password: 'wrong-password-777' }).expect(401);
    await supertest(h.url)
      .post('/api/chat')
      .set('Cookie', cookie)
      .set('Authorization', 'Bearer browser-token-999')
      .send({ message: prompt })
      .expect(200);
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt, stream: true }).expect(200);
    h.standIn.enqueue({ status: 401 });
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt }).expect(502);
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt, bogus: prompt }).expect(400);
    await supertest(h.url).post('/auth/logout').set('Cookie', cookie).expect(204);

    const text = h.logs.text;
    for (const secret of [TEST_KEY, 'pk_test_', PASSWORD, 'wrong-password-777', prompt, sessionId, cookie, 'browser-token-999']) {
      expect(text).not.toContain(secret);
    }
    const lines = h.logs.parsed();
    const requests = lines.filter((l) => l.msg === 'request' || l.msg === 'request failed');
    expect(requests).toHaveLength(7);
    expect(requests[0]).toMatchObject({
      request_id: 'router-id-12345678',
      req: { method: 'POST', path: '/auth/login' },
      res: { status: 200 },
    });
    const chat = requests.find((l) => (l.req as { path: string }).path === '/api/chat');
    expect(chat).toMatchObject({
      user: expect.stringMatching(/^u_[0-9a-f]{16}$/) as string,
      res: { status: 200 },
      call: {
        stream: false,
        upstream_status: 200,
        model_used: 'stand-in-small',
        cost_usd: STAND_IN_COST_USD,
        settled: 'charge',
        tokens: expect.any(Number) as number,
      },
    });
    expect(typeof chat?.responseTime).toBe('number');
    expect(JSON.stringify(chat)).not.toContain('logger-user');
  });
});
