import OpenAI from 'openai';
import { startHarness, TEST_KEY } from './helpers/harness';
import type { Harness } from './helpers/harness';

/** The official `openai` package as the client, pointed at perf-bff's /api/v1 with a session cookie. */
function sdk(h: Harness, cookie: string, options: { maxRetries?: number } = {}): OpenAI {
  return new OpenAI({
    baseURL: `${h.url}/api/v1`,
    // The SDK insists on a key; perf-bff ignores it: the session cookie is what signs the caller in.
    apiKey: 'pk_test_supplied_by_the_sdk_0000',
    defaultHeaders: { Cookie: cookie },
    maxRetries: options.maxRetries ?? 0,
  });
}

const hello = [{ role: 'user' as const, content: 'Hello there' }];

describe('the openai SDK against /api/v1', () => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { RATE_LIMIT_REQUESTS: '1000', ALLOWED_MODELS: 'gpt-4o-mini,claude-sonnet' } });
    cookie = await h.sessionCookie();
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('a JSON completion comes back as the SDK\'s ChatCompletion; "auto" leaves the model to Perf', async () => {
    const completion = await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toContain('Hello there');
    expect(h.standIn.requests[0]?.body).toEqual({ messages: [{ role: 'user', content: 'Hello there' }], max_cost_per_call: 0.01 });
  });

  test('a streamed completion is read with its async iterator, chunk by chunk', async () => {
    const stream = await sdk(h, cookie).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toContain('Hello there');
    expect(chunks).toBeGreaterThan(3);
    expect(h.standIn.requests[0]?.path).toBe('/v1/chat/stream');
    expect((h.standIn.requests[0]?.body as { model?: string }).model).toBe('gpt-4o-mini');
  });

  test("the SDK's Authorization header is ignored: never forwarded, and no substitute for a session", async () => {
    await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello });
    expect(h.standIn.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
    const anonymous = sdk(h, '');
    await expect(anonymous.chat.completions.create({ model: 'auto', messages: hello })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect(h.standIn.requests).toHaveLength(1);
  });

  test('a field Perf does not support is a BadRequestError naming it, with no upstream call', async () => {
    const call = sdk(h, cookie).chat.completions.create({
      model: 'auto',
      messages: hello,
      tools: [{ type: 'function', function: { name: 'f' } }],
    });
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools');
    expect((err as Error).message).toMatch(/Unsupported parameter: "tools"/);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test("OpenAI's default values (n: 1, presence_penalty: 0) are accepted; others are refused", async () => {
    await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello, n: 1, presence_penalty: 0 });
    await expect(sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello, n: 2 })).rejects.toThrow(
      /"n".*only 1 is supported/,
    );
  });

  test('a developer message is sent to Perf as a system message', async () => {
    await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: [{ role: 'developer', content: 'Be brief.' }, ...hello] });
    expect((h.standIn.requests[0]?.body as { messages: unknown[] }).messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
  });

  test('a model outside ALLOWED_MODELS is a BadRequestError naming the allowed ones', async () => {
    await expect(sdk(h, cookie).chat.completions.create({ model: 'gpt-5-pro', messages: hello })).rejects.toThrow(
      /Allowed: auto, gpt-4o-mini, claude-sonnet/,
    );
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('models.list() gives the models the caller may name', async () => {
    const ids: string[] = [];
    for await (const model of sdk(h, cookie).models.list()) ids.push(model.id);
    expect(ids).toEqual(['auto', 'gpt-4o-mini', 'claude-sonnet']);
  });

  test('a stream that breaks off mid-way raises an APIError from the iterator', async () => {
    h.standIn.enqueue({ failAfterChunks: 2, chunkDelayMs: 20 });
    const stream = await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello, stream: true });
    const read = (async () => {
      for await (const chunk of stream) expect(chunk.object).toBe('chat.completion.chunk');
    })();
    await expect(read).rejects.toBeInstanceOf(OpenAI.APIError);
  });
});

describe('the openai SDK meets the limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { RATE_LIMIT_REQUESTS: '2', MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.015' } });
  });
  afterAll(() => h.close());

  test('over the rate limit, the SDK raises RateLimitError with the retry-after and our error code', async () => {
    const client = sdk(h, await h.sessionCookie());
    h.standIn.setDefaults({ costUsd: 0.000001 });
    await client.chat.completions.create({ model: 'auto', messages: hello });
    await client.chat.completions.create({ model: 'auto', messages: hello });
    const err = await client.chat.completions.create({ model: 'auto', messages: hello }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimited = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.code).toBe('rate_limit_exceeded');
    expect(Number(rateLimited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('an exhausted budget is a RateLimitError the SDK does not retry by itself', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.setDefaults({ costUsd: null });
    // Its cost unknown, the first call keeps its whole cap: the budget is used up.
    await sdk(h, cookie).chat.completions.create({ model: 'auto', messages: hello });
    h.standIn.reset();
    // Had the SDK retried, its retry would have been this user's third request in the window, and
    // the error it ended with would say rate_limit_exceeded.
    const retrying = sdk(h, cookie, { maxRetries: 2 });
    const err = await retrying.chat.completions.create({ model: 'auto', messages: hello }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('budget_exceeded');
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('x-should-retry')).toBe('false');
    expect((await h.usage(cookie)).spent_usd).toBe(0.01);
  });
});
