import { sseData } from '../../public/perf-bff-client.js';
import { bodyOf, collect } from './streams';

/** The `data` of every event in a body made of these chunks. */
const events = (...chunks: (string | Uint8Array)[]): Promise<string[]> => collect(sseData(bodyOf(...chunks).stream));

describe('sseData: the data of each server-sent event', () => {
  test('when lines end in LF, gives each event once its blank line arrives', async () => {
    await expect(events('data: a\n\ndata: b\n\n')).resolves.toEqual(['a', 'b']);
  });

  test('when lines end in CRLF, gives the same events', async () => {
    await expect(events('data: a\r\n\r\ndata: b\r\n\r\n')).resolves.toEqual(['a', 'b']);
  });

  test('when lines end in CR alone, gives the same events', async () => {
    await expect(events('data: a\r\rdata: b\r\r')).resolves.toEqual(['a', 'b']);
  });

  test('when a CRLF is split across chunks ("data: a\\r" then "\\ndata: b\\r\\n\\r\\n"), gives ONE event "a\\nb"', async () => {
    await expect(events('data: a\r', '\ndata: b\r\n\r\n')).resolves.toEqual(['a\nb']);
  });

  test('when a chunk ends in a CR that is a line end of its own (CR-only stream), does not lose or merge lines', async () => {
    await expect(events('data: a\r', '\rdata: b\r', '\r')).resolves.toEqual(['a', 'b']);
  });

  test('when an event has several data lines, joins them with LF', async () => {
    await expect(events('data: one\ndata: two\ndata: three\n\n')).resolves.toEqual(['one\ntwo\nthree']);
  });

  test('when a line is split anywhere across chunks, reassembles it', async () => {
    await expect(events('da', 'ta: hel', 'lo\n', '\n')).resolves.toEqual(['hello']);
  });

  test('when lines start with ":", ignores them as comments (keep-alives), alone or inside an event', async () => {
    await expect(events(': keep-alive\n\n', 'data: a\n: ping\ndata: b\n\n', ':\n\n')).resolves.toEqual(['a\nb']);
  });

  test('when an event has other fields (event, id, retry), ignores them and keeps the data', async () => {
    await expect(events('event: message\nid: 7\nretry: 1000\ndata: x\n\n')).resolves.toEqual(['x']);
  });

  test('when "data:" has no space after the colon, takes the rest as is; with two spaces, strips only one', async () => {
    await expect(events('data:a\n\ndata:  b\n\n')).resolves.toEqual(['a', ' b']);
  });

  test('when a line is "data" with no colon, counts it as an empty data line, as the spec says', async () => {
    await expect(events('data\ndata: x\n\ndata\n\n')).resolves.toEqual(['\nx', '']);
  });

  test('when blank lines come without any data, gives no event for them', async () => {
    await expect(events('\n\n\r\n\rdata: a\n\n\n\n')).resolves.toEqual(['a']);
  });

  test('when the body ends in the middle of an event, drops that event (as the spec says)', async () => {
    await expect(events('data: a\n\ndata: b\n')).resolves.toEqual(['a']);
    await expect(events('data: a\n\ndata: b')).resolves.toEqual(['a']);
    await expect(events('data: a\r')).resolves.toEqual([]);
  });

  test('when a multi-byte UTF-8 character is split across chunks, decodes it whole', async () => {
    const bytes = new TextEncoder().encode('data: é😀 ok\n\n');
    // "é" is 2 bytes at 6..7, "😀" 4 bytes at 8..11: split inside each.
    await expect(events(bytes.slice(0, 7), bytes.slice(7, 10), bytes.slice(10))).resolves.toEqual(['é😀 ok']);
  });

  test('when the body starts with a byte-order mark, ignores it', async () => {
    await expect(events('\uFEFFdata: a\n\n')).resolves.toEqual(['a']);
  });

  test('when the body is empty, gives no event', async () => {
    await expect(events()).resolves.toEqual([]);
  });

  test('when the caller stops reading early, cancels the body (the connection closes) and reads no further', async () => {
    const body = bodyOf('data: a\n\n', 'data: b\n\n', 'data: c\n\n');
    for await (const data of sseData(body.stream)) {
      expect(data).toBe('a');
      break;
    }
    expect(body.cancelled).toBe(true);
    expect(body.served).toBe(1);
  });
});
