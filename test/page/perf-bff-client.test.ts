import { isErrorBody, MIN_PASSWORD_LENGTH, PerfBffClient, PerfBffError, readRateLimit } from '../../public/perf-bff-client.js';
import type { RateLimit } from '../../public/perf-bff-client.js';
import { MIN_PASSWORD_LENGTH as SERVER_MIN_PASSWORD_LENGTH } from '../../src/auth/passwords';
import { bodyOf, collect } from './streams';

interface Call {
  url: string;
  init: RequestInit;
}

/**
 * A fetch that answers with `answers` in turn and records each call. Like a browser's
 * window.fetch, it refuses to be called as a method of another object ("Illegal invocation").
 */
function fakeFetch(...answers: Response[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    if (this !== undefined && this !== globalThis)
      return Promise.reject(new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation"));
    calls.push({ url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init: init ?? {} });
    const answer = answers.shift();
    return answer === undefined ? Promise.reject(new TypeError('Failed to fetch')) : Promise.resolve(answer);
  };
  return { fetch, calls };
}

const RATE_HEADERS = { 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '3', 'X-RateLimit-Reset': '1700000000' };
const RATE: RateLimit = { limit: 10, remaining: 3, reset: 1_700_000_000 };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function errorBody(type: string, message: string, extra: { request_id?: string; retry_after?: number } = {}): unknown {
  return { error: { type, message, ...extra } };
}

/** The JSON body a recorded call sent. */
function sentJson(call: Call | undefined): unknown {
  const body = call?.init.body;
  if (typeof body !== 'string') throw new Error('expected a JSON string body');
  return JSON.parse(body);
}

/** One chat.completion.chunk event carrying `text`. */
const piece = (text: string): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;

function sse(...chunks: string[]): Response {
  return new Response(bodyOf(...chunks).stream, { status: 200, headers: { 'Content-Type': 'text/event-stream', ...RATE_HEADERS } });
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<PerfBffError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PerfBffError) return err;
    throw err;
  }
  throw new Error('expected a PerfBffError, but the call succeeded');
}

/** The plain facts of a PerfBffError, to compare whole. */
const facts = (err: PerfBffError) => ({
  name: err.name,
  status: err.status,
  type: err.type,
  message: err.message,
  requestId: err.requestId,
  retryAfter: err.retryAfter,
  inStream: err.inStream,
  rateLimit: err.rateLimit,
});

describe('PerfBffClient requests', () => {
  test("when signing in on the page's own origin, POSTs the JSON credentials same-origin, uncached, and returns the user", async () => {
    const { fetch, calls } = fakeFetch(json(200, { user: { username: 'alice' } }));
    const client = new PerfBffClient({ fetch });
    await expect(client.signIn('alice', 'pw')).resolves.toEqual({ user: { username: 'alice' } });
    expect(calls).toEqual([
      {
        url: '/auth/login',
        init: {
          method: 'POST',
          credentials: 'same-origin',
          cache: 'no-store',
          headers: { 'Content-Type': 'application/json' },
          body: '{"username":"alice","password":"pw"}',
        },
      },
    ]);
  });

  test('when signing in with a one-time password, returns the user with must_change_password', async () => {
    const { fetch } = fakeFetch(json(200, { user: { username: 'admin', must_change_password: true } }));
    await expect(new PerfBffClient({ fetch }).signIn('admin', 'one-time')).resolves.toEqual({
      user: { username: 'admin', must_change_password: true },
    });
  });

  test('when changing the password, POSTs the current and the new one as JSON to /auth/password, same-origin, uncached, and returns the user', async () => {
    const { fetch, calls } = fakeFetch(json(200, { user: { username: 'admin' } }));
    const client = new PerfBffClient({ fetch });
    await expect(client.changePassword('one-time', 'my own password')).resolves.toEqual({ user: { username: 'admin' } });
    expect(calls).toEqual([
      {
        url: '/auth/password',
        init: {
          method: 'POST',
          credentials: 'same-origin',
          cache: 'no-store',
          headers: { 'Content-Type': 'application/json' },
          body: '{"current_password":"one-time","new_password":"my own password"}',
        },
      },
    ]);
  });

  test('when changing the password on another origin, sends there with credentials "include"', async () => {
    const { fetch, calls } = fakeFetch(json(200, { user: { username: 'admin' } }));
    await new PerfBffClient({ baseUrl: 'https://api.example.com/', fetch }).changePassword('old password', 'new password');
    expect(calls.map((c) => [c.url, c.init.method, c.init.credentials])).toEqual([
      ['https://api.example.com/auth/password', 'POST', 'include'],
    ]);
  });

  test('says the shortest new password the server accepts: 8 characters', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(SERVER_MIN_PASSWORD_LENGTH);
  });

  test('when given another origin (with trailing slashes), sends there with credentials "include", so the cookie goes along', async () => {
    const { fetch, calls } = fakeFetch(new Response(null, { status: 204 }));
    await new PerfBffClient({ baseUrl: 'https://api.example.com//', fetch }).signOut();
    expect(calls).toEqual([
      { url: 'https://api.example.com/auth/logout', init: { method: 'POST', credentials: 'include', cache: 'no-store' } },
    ]);
  });

  test('when given the browser\'s own fetch, calls it as a plain function (window.fetch refuses any other "this")', async () => {
    const { fetch, calls } = fakeFetch(json(200, { rate_limit: RATE, budget: null }));
    const client = new PerfBffClient({ fetch });
    await expect(client.usage()).resolves.toEqual({ rate_limit: RATE, budget: null });
    expect(calls.map((c) => [c.url, c.init.method])).toEqual([['/api/usage', 'GET']]);
  });

  test('when asked who is signed in and the server answers 401, gives null', async () => {
    const { fetch } = fakeFetch(json(401, errorBody('unauthorized', 'Sign in first.')));
    await expect(new PerfBffClient({ fetch }).me()).resolves.toBeNull();
  });

  test('when asked who is signed in and there is a session, gives the user and the session', async () => {
    const me = { user: { username: 'alice' }, session: { expires_at: '2030-01-01T00:00:00.000Z' } };
    const { fetch, calls } = fakeFetch(json(200, me));
    await expect(new PerfBffClient({ fetch }).me()).resolves.toEqual(me);
    expect(calls.map((c) => [c.url, c.init.method, c.init.body])).toEqual([['/auth/me', 'GET', undefined]]);
  });

  test('when asked who is signed in after a one-time password, gives the user with must_change_password', async () => {
    const me = { user: { username: 'admin', must_change_password: true }, session: { expires_at: '2030-01-01T00:00:00.000Z' } };
    const { fetch } = fakeFetch(json(200, me));
    await expect(new PerfBffClient({ fetch }).me()).resolves.toEqual(me);
  });

  test('when asked who is signed in and the server fails (503), throws rather than saying nobody is', async () => {
    const { fetch } = fakeFetch(json(503, errorBody('service_unavailable', 'Try later.')));
    const err = await rejection(new PerfBffClient({ fetch }).me());
    expect([err.status, err.type]).toEqual([503, 'service_unavailable']);
  });

  test("when chat() is called, POSTs the body with stream:false (whatever it said) and returns Perf's JSON", async () => {
    const answer = { choices: [{ message: { role: 'assistant', content: 'Hi' } }], perf: { cost_usd: 0.001 } };
    const { fetch, calls } = fakeFetch(json(200, answer));
    const signal = new AbortController().signal;
    await expect(
      new PerfBffClient({ fetch }).chat({ message: 'Hello', max_tokens: 5, stream: true } as never, { signal }),
    ).resolves.toEqual(answer);
    expect(calls[0]?.url).toBe('/api/chat');
    expect(sentJson(calls[0])).toEqual({ message: 'Hello', max_tokens: 5, stream: false });
    expect(calls[0]?.init.signal).toBe(signal);
  });

  test('when the network fails, lets the fetch error through as it is (not a PerfBffError)', async () => {
    const { fetch } = fakeFetch();
    await expect(new PerfBffClient({ fetch }).usage()).rejects.toEqual(new TypeError('Failed to fetch'));
  });
});

describe('PerfBffClient errors', () => {
  test('when the server refuses with its JSON error, throws PerfBffError with the status, type, message, request id, retry_after and rate limit', async () => {
    const { fetch } = fakeFetch(
      json(429, errorBody('rate_limit_exceeded', 'Too many requests.', { request_id: 'req_1', retry_after: 7 }), {
        ...RATE_HEADERS,
        'Retry-After': '7',
      }),
    );
    const err = await rejection(new PerfBffClient({ fetch }).chat({ message: 'x' }));
    expect(err).toBeInstanceOf(Error);
    expect(facts(err)).toEqual({
      name: 'PerfBffError',
      status: 429,
      type: 'rate_limit_exceeded',
      message: 'Too many requests.',
      requestId: 'req_1',
      retryAfter: 7,
      inStream: false,
      rateLimit: RATE,
    });
  });

  test.each([
    [400, 'invalid_request', 'Choose a password other than the current one.'],
    [401, 'invalid_credentials', 'The current password is wrong.'],
    [403, 'unauthorized', 'Only an account with a password can change it.'],
    [503, 'service_unavailable', 'Sign-in is temporarily unavailable.'],
  ])(
    'when a password change is refused with %i %s, throws PerfBffError with that status, type and message',
    async (status, type, message) => {
      const { fetch } = fakeFetch(json(status, errorBody(type, message, { request_id: 'req_7' })));
      const err = await rejection(new PerfBffClient({ fetch }).changePassword('current password', 'new password'));
      expect([err.status, err.type, err.message, err.requestId]).toEqual([status, type, message, 'req_7']);
    },
  );

  test('when a password change is refused with 429 too_many_attempts and a Retry-After header, says how long to wait', async () => {
    const { fetch } = fakeFetch(
      json(429, errorBody('too_many_attempts', 'Too many attempts; wait before trying again.'), { 'Retry-After': '120' }),
    );
    const err = await rejection(new PerfBffClient({ fetch }).changePassword('current password', 'new password'));
    expect([err.status, err.type, err.retryAfter]).toEqual([429, 'too_many_attempts', 120]);
  });

  test('when a call is refused with 403 password_change_required (a one-time password in use), throws PerfBffError of that type', async () => {
    const { fetch } = fakeFetch(json(403, errorBody('password_change_required', 'Choose your own password first (POST /auth/password).')));
    const err = await rejection(collect(new PerfBffClient({ fetch }).stream({ message: 'x' })));
    expect([err.status, err.type, err.inStream]).toEqual([403, 'password_change_required', false]);
  });

  test('when the error body has no retry_after, takes the Retry-After header', async () => {
    const { fetch } = fakeFetch(json(503, errorBody('upstream_rate_limited', 'Busy.'), { 'Retry-After': '12' }));
    const err = await rejection(new PerfBffClient({ fetch }).usage());
    expect([err.type, err.retryAfter]).toEqual(['upstream_rate_limited', 12]);
  });

  test("when both say how long to wait, the body's retry_after wins over the header", async () => {
    const { fetch } = fakeFetch(json(429, errorBody('budget_exceeded', 'Budget used.', { retry_after: 3600 }), { 'Retry-After': '5' }));
    const err = await rejection(new PerfBffClient({ fetch }).usage());
    expect(err.retryAfter).toBe(3600);
  });

  test.each([['0'], ['-3'], ['soon'], ['Wed, 21 Oct 2015 07:28:00 GMT'], ['']])(
    'when Retry-After is "%s" (not a positive number of seconds), leaves retryAfter undefined',
    async (header) => {
      const { fetch } = fakeFetch(json(503, errorBody('service_unavailable', 'Down.'), { 'Retry-After': header }));
      const err = await rejection(new PerfBffClient({ fetch }).usage());
      expect(err.retryAfter).toBeUndefined();
    },
  );

  test("when a 5xx body is not JSON (a proxy's HTML page), throws service_unavailable with a message naming the status", async () => {
    const { fetch } = fakeFetch(
      new Response('<html>Bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html', 'Retry-After': '30' } }),
    );
    const err = await rejection(new PerfBffClient({ fetch }).usage());
    expect(facts(err)).toEqual({
      name: 'PerfBffError',
      status: 502,
      type: 'service_unavailable',
      message: 'The request failed with status 502.',
      requestId: undefined,
      retryAfter: 30,
      inStream: false,
      rateLimit: null,
    });
  });

  test('when a 4xx body is JSON but not the error shape, throws http_error for the status', async () => {
    const { fetch } = fakeFetch(json(404, { message: 'nope' }));
    const err = await rejection(new PerfBffClient({ fetch }).usage());
    expect([err.status, err.type, err.message]).toEqual([404, 'http_error', 'The request failed with status 404.']);
  });
});

describe('PerfBffClient onRateLimit', () => {
  test('when answers carry X-RateLimit-* headers, ok or refused, reports each; when an answer has none, reports nothing for it', async () => {
    const seen: RateLimit[] = [];
    const { fetch } = fakeFetch(
      json(200, { rate_limit: RATE, budget: null }, RATE_HEADERS),
      json(200, { user: { username: 'a' } }),
      json(429, errorBody('rate_limit_exceeded', 'Wait.'), { ...RATE_HEADERS, 'X-RateLimit-Remaining': '0' }),
    );
    const client = new PerfBffClient({ fetch, onRateLimit: (rateLimit) => seen.push(rateLimit) });
    await client.usage();
    await client.signIn('a', 'b');
    await rejection(client.usage());
    expect(seen).toEqual([RATE, { ...RATE, remaining: 0 }]);
  });
});

describe('PerfBffClient stream()', () => {
  test('when the answer streams, POSTs stream:true, calls onOpen once, yields each piece of text and ends at [DONE]', async () => {
    const { fetch, calls } = fakeFetch(sse(piece('Hel'), piece('lo'), ': keep-alive\n\n', piece(', world'), 'data: [DONE]\n\n'));
    const seen: string[] = [];
    const client = new PerfBffClient({ fetch, onRateLimit: () => seen.push('rate limit') });
    const pieces: string[] = [];
    for await (const text of client.stream({ messages: [{ role: 'user', content: 'Hi' }] }, { onOpen: () => seen.push('open') })) {
      seen.push(`piece ${text}`);
      pieces.push(text);
    }
    expect(pieces).toEqual(['Hel', 'lo', ', world']);
    expect(seen).toEqual(['rate limit', 'open', 'piece Hel', 'piece lo', 'piece , world']);
    expect(calls[0]?.url).toBe('/api/chat');
    expect(sentJson(calls[0])).toEqual({ messages: [{ role: 'user', content: 'Hi' }], stream: true });
  });

  test('when events carry no text (a role-only delta, no choices, not JSON), yields nothing for them', async () => {
    const roleOnly = `data: ${JSON.stringify({ choices: [{ delta: { role: 'assistant' } }] })}\n\n`;
    const noChoices = `data: ${JSON.stringify({ choices: [], usage: { total_tokens: 3 } })}\n\n`;
    const { fetch } = fakeFetch(sse(roleOnly, noChoices, 'data: not json\n\n', piece(''), piece('text'), 'data: [DONE]\n\n'));
    await expect(collect(new PerfBffClient({ fetch }).stream({ message: 'x' }))).resolves.toEqual(['text']);
  });

  test('when the request is refused before streaming (429), throws PerfBffError (not in the stream) and never calls onOpen', async () => {
    const { fetch } = fakeFetch(json(429, errorBody('rate_limit_exceeded', 'Wait.', { retry_after: 4 }), RATE_HEADERS));
    let opened = 0;
    const err = await rejection(collect(new PerfBffClient({ fetch }).stream({ message: 'x' }, { onOpen: () => (opened += 1) })));
    expect([err.status, err.type, err.retryAfter, err.inStream]).toEqual([429, 'rate_limit_exceeded', 4, false]);
    expect(opened).toBe(0);
  });

  test('when an error event arrives mid-answer, yields the text before it, then throws PerfBffError with inStream true', async () => {
    const failure = `data: ${JSON.stringify(errorBody('upstream_error', 'Perf broke off.', { request_id: 'req_9' }))}\n\n`;
    const { fetch } = fakeFetch(sse(piece('partial '), failure, piece('never')));
    const pieces: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const text of new PerfBffClient({ fetch }).stream({ message: 'x' })) pieces.push(text);
      })(),
    );
    expect(pieces).toEqual(['partial ']);
    expect(facts(err)).toEqual({
      name: 'PerfBffError',
      status: 200,
      type: 'upstream_error',
      message: 'Perf broke off.',
      requestId: 'req_9',
      retryAfter: undefined,
      inStream: true,
      rateLimit: null,
    });
  });

  test('when the body ends without [DONE], throws PerfBffError "The answer ended early." with inStream true', async () => {
    const { fetch } = fakeFetch(sse(piece('half an ans'), 'data: {"choices":[{"delta":{"content":"never finished"'));
    const pieces: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const text of new PerfBffClient({ fetch }).stream({ message: 'x' })) pieces.push(text);
      })(),
    );
    expect(pieces).toEqual(['half an ans']);
    expect([err.status, err.type, err.message, err.inStream]).toEqual([200, 'upstream_error', 'The answer ended early.', true]);
  });

  test('when the answer has no body at all, throws PerfBffError "The answer was empty." with inStream true', async () => {
    const { fetch } = fakeFetch(new Response(null, { status: 200 }));
    const err = await rejection(collect(new PerfBffClient({ fetch }).stream({ message: 'x' })));
    expect([err.status, err.type, err.message, err.inStream]).toEqual([200, 'upstream_error', 'The answer was empty.', true]);
  });

  test('when [DONE] arrives, stops and cancels the body (the connection closes) without reading what follows', async () => {
    const body = bodyOf(piece('a'), 'data: [DONE]\n\n', piece('after the end'));
    const { fetch } = fakeFetch(new Response(body.stream, { status: 200 }));
    await expect(collect(new PerfBffClient({ fetch }).stream({ message: 'x' }))).resolves.toEqual(['a']);
    expect(body.cancelled).toBe(true);
    expect(body.served).toBe(2);
  });

  test('when the caller stops reading (breaks out of the loop), cancels the body', async () => {
    const body = bodyOf(piece('first'), piece('second'), 'data: [DONE]\n\n');
    const { fetch } = fakeFetch(new Response(body.stream, { status: 200 }));
    for await (const text of new PerfBffClient({ fetch }).stream({ message: 'x' })) {
      expect(text).toBe('first');
      break;
    }
    expect(body.cancelled).toBe(true);
    expect(body.served).toBe(1);
  });
});

describe('readRateLimit: the X-RateLimit-* headers of an answer', () => {
  const withHeaders = (headers: Record<string, string>): Response => new Response(null, { status: 200, headers });

  test('when all three are numbers, gives them as numbers', () => {
    expect(readRateLimit(withHeaders(RATE_HEADERS))).toEqual(RATE);
    expect(readRateLimit(withHeaders({ ...RATE_HEADERS, 'X-RateLimit-Remaining': '0' }))).toEqual({ ...RATE, remaining: 0 });
  });

  test('when there are none, gives null', () => {
    expect(readRateLimit(withHeaders({}))).toBeNull();
  });

  test.each([['X-RateLimit-Remaining'], ['X-RateLimit-Reset']])('when %s is missing, gives null rather than reading it as 0', (name) => {
    const headers = Object.fromEntries(Object.entries(RATE_HEADERS).filter(([key]) => key !== name));
    expect(readRateLimit(withHeaders(headers))).toBeNull();
  });

  test('when one is empty or not a number, gives null', () => {
    expect(readRateLimit(withHeaders({ ...RATE_HEADERS, 'X-RateLimit-Remaining': '' }))).toBeNull();
    expect(readRateLimit(withHeaders({ ...RATE_HEADERS, 'X-RateLimit-Limit': 'lots' }))).toBeNull();
    expect(readRateLimit(withHeaders({ ...RATE_HEADERS, 'X-RateLimit-Reset': 'Infinity' }))).toBeNull();
  });
});

describe('isErrorBody: the server\'s {"error": {...}} shape', () => {
  test.each([[{ error: { type: 'rate_limit_exceeded', message: 'Wait.', retry_after: 3 } }], [{ error: { type: 'upstream_error' } }]])(
    'when given %j, says yes',
    (value) => {
      expect(isErrorBody(value)).toBe(true);
    },
  );

  test.each([
    [null],
    [undefined],
    ['error'],
    [42],
    [[]],
    [{}],
    [{ error: null }],
    [{ error: 'boom' }],
    [{ error: {} }],
    [{ error: { type: 5 } }],
    [{ choices: [] }],
  ])('when given %j, says no', (value) => {
    expect(isErrorBody(value)).toBe(false);
  });
});
