import { MemorySessionStore } from '../src/auth/memory-session-store';
import type { SessionData } from 'express-session';
import { SseSplitter, formatEvent } from '../src/perf/sse';

const session = (n: number) => ({ cookie: { originalMaxAge: 1000 }, user: { username: `u${n}` } }) as unknown as SessionData;

function get(store: MemorySessionStore, sid: string): Promise<SessionData | null | undefined> {
  return new Promise((resolve) => store.get(sid, (_err, s) => resolve(s)));
}

describe('memory session store', () => {
  test('is bounded: past maxSessions the least recently used go first', async () => {
    const store = new MemorySessionStore({ maxSessions: 3, ttlSeconds: () => 60 });
    for (let i = 0; i < 3; i += 1) store.set(`s${i}`, session(i));
    await get(store, 's0'); // s0 is now the most recently used
    store.set('s3', session(3));
    expect(store.size).toBe(3);
    expect(await get(store, 's1')).toBeNull();
    expect((await get(store, 's0'))?.user).toEqual({ username: 'u0' });
  });

  test('expires sessions after their TTL', async () => {
    let now = 0;
    const store = new MemorySessionStore({ maxSessions: 10, ttlSeconds: () => 5, now: () => now });
    store.set('s', session(1));
    now = 4999;
    expect(await get(store, 's')).not.toBeNull();
    now = 5000;
    expect(await get(store, 's')).toBeNull();
    expect(store.size).toBe(0);
  });

  test('returns a copy: changing a loaded session does not change the stored one', async () => {
    const store = new MemorySessionStore({ maxSessions: 10, ttlSeconds: () => 60 });
    store.set('s', session(1));
    const loaded = await get(store, 's');
    if (loaded?.user) loaded.user.username = 'mallory';
    expect((await get(store, 's'))?.user).toEqual({ username: 'u1' });
  });
});

describe('SSE splitter', () => {
  test('reassembles events split across chunks, including split UTF-8 characters', () => {
    const splitter = new SseSplitter();
    const bytes = Buffer.from('data: {"a":"é"}\n\ndata: [DONE]\n\n');
    const events = [];
    for (let i = 0; i < bytes.length; i += 3) events.push(...splitter.push(bytes.subarray(i, i + 3)));
    expect(events.map((e) => e.data)).toEqual(['{"a":"é"}', '[DONE]']);
  });

  test('accepts CRLF line ends, multi-line data, and drops comments and ids', () => {
    const splitter = new SseSplitter();
    const events = splitter.push(Buffer.from(': ping\r\nid: 7\r\ndata: line1\r\ndata: line2\r\n\r\n'));
    expect(events.map((e) => e.data)).toEqual(['line1\nline2']);
    expect(formatEvent('line1\nline2')).toBe('data: line1\ndata: line2\n\n');
  });

  test('reads cost, model and tokens from a final chunk that carries them', () => {
    const splitter = new SseSplitter();
    const [event] = splitter.push(Buffer.from('data: {"choices":[],"usage":{"total_tokens":12},"perf":{"cost_usd":0.0031,"model_used":"m"}}\n\n'));
    expect(event).toMatchObject({ costUsd: 0.0031, modelUsed: 'm', totalTokens: 12 });
  });

  test('an upstream that never ends an event cannot grow the buffer without bound', () => {
    const splitter = new SseSplitter();
    expect(() => {
      for (let i = 0; i < 100; i += 1) splitter.push(Buffer.alloc(64 * 1024, 'x'));
    }).toThrow(/too large/);
  });
});
