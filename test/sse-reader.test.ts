import { formatEvent, SseReader } from '../src/perf/sse';

const data = (events: { data: string }[]) => events.map((e) => e.data);

describe("reading Perf's event stream", () => {
  test('events split across chunks are reassembled, including split UTF-8 characters', () => {
    const reader = new SseReader();
    const bytes = Buffer.from('data: {"a":"é"}\n\ndata: [DONE]\n\n');
    const events = [];
    for (let i = 0; i < bytes.length; i += 3) events.push(...reader.push(bytes.subarray(i, i + 3)));
    expect(data(events)).toEqual(['{"a":"é"}', '[DONE]']);
  });

  test('a CR at the end of one chunk and its LF at the start of the next are one line end', () => {
    const reader = new SseReader();
    const events = [...reader.push(Buffer.from('data: a\r')), ...reader.push(Buffer.from('\ndata: b\r\n\r\n'))];
    expect(data(events)).toEqual(['a\nb']);
  });

  test('CRLF, CR and LF line ends, multi-line data; comments, ids and event names are dropped', () => {
    const reader = new SseReader();
    const events = reader.push(Buffer.from(': ping\r\nid: 7\r\ndata: line1\r\ndata: line2\r\n\r\ndata: cr\r\rdata: lf\n\n'));
    expect(data(events)).toEqual(['line1\nline2', 'cr', 'lf']);
    expect(formatEvent('line1\nline2')).toBe('data: line1\ndata: line2\n\n');
  });

  test('an event the upstream ends without its blank line still counts', () => {
    const reader = new SseReader();
    expect(data(reader.push(Buffer.from('data: [DONE]')))).toEqual([]);
    expect(data(reader.end())).toEqual(['[DONE]']);
  });

  test('reads cost, model and tokens from a final chunk that carries them', () => {
    const [event] = new SseReader().push(
      Buffer.from('data: {"choices":[],"usage":{"total_tokens":12},"perf":{"cost_usd":0.0031,"model_used":"m"}}\n\n'),
    );
    expect(event).toEqual({ data: expect.any(String) as string, costUsd: 0.0031, modelUsed: 'm', totalTokens: 12, usageOnly: true });
  });

  test('an upstream that never ends an event cannot grow the buffer without bound', () => {
    const reader = new SseReader();
    expect(() => {
      for (let i = 0; i < 100; i += 1) reader.push(Buffer.alloc(64 * 1024, 'x'));
    }).toThrow(/too large/);
  });
});
