// The table printed at the end of a run, each figure against its target.

/** Figure 1: peak throughput of JSON chats, X against L (the lean limit) and P. */
export interface PeakFigure {
  connections: number;
  p_rps: number;
  l_rps: number;
  x_rps: number;
  p_errors: number;
  l_errors: number;
  x_errors: number;
  /** X/P */
  ratio: number;
  /** X/L: the target. */
  x_l: number;
  /** L/P: what the chat path's own work costs. */
  l_p: number;
  /** CPU time of each process per request served (median of the rounds): robust on a busy machine. */
  p_cpu_us: number;
  l_cpu_us: number;
  x_cpu_us: number;
  met: boolean;
}

/** Figure 2: latency at concurrency 1. */
export interface LatencyFigure {
  p_p50_ms: number;
  l_p50_ms: number;
  x_p50_ms: number;
  p_p99_ms: number;
  x_p99_ms: number;
  added_p50_ms: number;
  added_p99_ms: number;
  met: boolean;
}

/** Figure 3: a stream's first byte, X against the stand-in called directly. */
export interface FirstByteFigure {
  direct_ms: number;
  p_ms: number;
  x_ms: number;
  added_ms: number;
  met: boolean;
}

/** Figure 4: many streams open at once. */
export interface StreamsFigure {
  count: number;
  chunk_delay_ms: number;
  events_expected: number;
  x_complete: number;
  p_complete: number;
  x_events_received: number;
  x_largest_gap_ms: number;
  p_largest_gap_ms: number;
  x_largest_gap_after_open_ms: number;
  p_largest_gap_after_open_ms: number;
  x_all_open_ms: number;
  p_all_open_ms: number;
  x_rss_per_stream: number;
  p_rss_per_stream: number;
  x_most_open: number;
  p_most_open: number;
  lossless: boolean;
  rss_met: boolean;
  met: boolean;
}

/** Figure 5: memory while a reader stalls. */
export interface SlowReaderFigure {
  upstream_bytes: number;
  x_growth: number;
  p_growth: number;
  met: boolean;
}

/** Figure 6: Redis round trips (and commands) per chat. */
export interface RedisFigure {
  json_requests: number;
  json_per_request: number;
  json_commands_per_request: number;
  json_by_command: Record<string, number>;
  stream_requests: number;
  stream_per_request: number;
  stream_commands_per_request: number;
  stream_by_command: Record<string, number>;
  met: boolean;
}

export interface Figures {
  loadgen: string;
  peak: PeakFigure;
  latency: LatencyFigure;
  ttfb: FirstByteFigure;
  streams: StreamsFigure;
  slowReader: SlowReaderFigure;
  redis: RedisFigure;
}

/** [figure, X, reference, X against reference, target, verdict] */
export type Row = [string, string, string, string, string, string];

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? NaN) + upper) / 2;
}

const fmt = {
  n: (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a'),
  ms: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : 'n/a'),
  signedMs: (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms` : 'n/a'),
  kb: (v: number) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} KB` : 'n/a'),
  mb: (v: number) => (Number.isFinite(v) ? `${(v / 1024 / 1024).toFixed(1)} MB` : 'n/a'),
};

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** A row of milliseconds: X, the reference, what X adds, and the target it is held to (if any). */
function msRow(figure: string, x: number, reference: [name: string, ms: number], target?: { text: string; met: boolean }): Row {
  const [name, ms] = reference;
  return [
    figure,
    fmt.ms(x),
    `${name} ${fmt.ms(ms)}`,
    fmt.signedMs(x - ms),
    target?.text ?? '(reported)',
    target === undefined ? '' : verdict(target.met),
  ];
}

const reportedMs = (figure: string, x: number, p: number): Row => msRow(figure, x, ['P', p]);

const HEAD: Row = ['figure', 'X (perf-bff)', 'reference', 'X vs reference', 'target', ''];

/** Rows 1 and 2 alone (npm run bench -- --quick). */
export function loadRows(peak: PeakFigure, latency: LatencyFigure): Row[] {
  return [
    HEAD,
    [
      `1 peak req/s, JSON, c=${peak.connections}`,
      `${fmt.n(peak.x_rps)} req/s`,
      `L ${fmt.n(peak.l_rps)} req/s`,
      `X/L ${fmt.n(peak.x_l, 2)}`,
      `>= 0.75, 0 errors`,
      verdict(peak.met),
    ],
    ['', '', `P ${fmt.n(peak.p_rps)} req/s`, `X/P ${fmt.n(peak.ratio, 2)}, L/P ${fmt.n(peak.l_p, 2)}`, '(reported)', ''],
    [
      '  CPU per request',
      `${fmt.n(peak.x_cpu_us)} µs`,
      `L ${fmt.n(peak.l_cpu_us)} µs, P ${fmt.n(peak.p_cpu_us)} µs`,
      `L/X ${fmt.n(peak.l_cpu_us / peak.x_cpu_us, 2)}`,
      '(reported)',
      '',
    ],
    [
      '  errors in those rounds',
      `${peak.x_errors}`,
      `L ${peak.l_errors}, P ${peak.p_errors}`,
      '',
      '0',
      verdict(peak.x_errors === 0 && peak.p_errors === 0 && peak.l_errors === 0),
    ],
    msRow('2 latency p50 at c=1', latency.x_p50_ms, ['P', latency.p_p50_ms], { text: '<= +0.6 ms', met: latency.met }),
    ['', '', `L ${fmt.ms(latency.l_p50_ms)}`, `X-L ${fmt.signedMs(latency.x_p50_ms - latency.l_p50_ms)}`, '(reported)', ''],
    reportedMs('  latency p99 at c=1', latency.x_p99_ms, latency.p_p99_ms),
  ];
}

/** Rows of [figure, X, reference, X against reference, target, verdict]. */
export function tableRows(f: Figures): Row[] {
  return [
    ...loadRows(f.peak, f.latency),
    msRow('3 stream first byte p50', f.ttfb.x_ms, ['direct', f.ttfb.direct_ms], { text: '<= +2 ms', met: f.ttfb.met }),
    ['  (P, for comparison)', '', `P ${fmt.ms(f.ttfb.p_ms)}`, fmt.signedMs(f.ttfb.p_ms - f.ttfb.direct_ms), '', ''],
    ...streamRows(f.streams),
    [
      `5 slow reader, ${fmt.mb(f.slowReader.upstream_bytes)} upstream`,
      `+${fmt.mb(f.slowReader.x_growth)}`,
      `P +${fmt.mb(f.slowReader.p_growth)}`,
      '',
      '<= 16 MB',
      verdict(f.slowReader.met),
    ],
    [
      '6 Redis round trips per chat',
      `JSON ${fmt.n(f.redis.json_per_request, 2)}, stream ${fmt.n(f.redis.stream_per_request, 2)}`,
      '',
      `${fmt.n(f.redis.json_commands_per_request, 2)} commands: ${Object.entries(f.redis.json_by_command)
        .map(([name, n]) => `${name}x${fmt.n(n / f.redis.json_requests, 2)}`)
        .join(' ')}`,
      '<= 2 (hot session)',
      verdict(f.redis.met),
    ],
  ];
}

function streamRows(s: StreamsFigure): Row[] {
  return [
    [
      `4 ${s.count} streams: complete`,
      `${s.x_complete}/${s.count}`,
      `P ${s.p_complete}/${s.count}`,
      `${s.x_events_received}/${s.events_expected} events`,
      'no event lost',
      verdict(s.lossless),
    ],
    reportedMs(`  largest gap, a chunk every ${s.chunk_delay_ms} ms`, s.x_largest_gap_ms, s.p_largest_gap_ms),
    ['  most streams open at once', `${s.x_most_open}`, `P ${s.p_most_open}`, '', `${s.count}`, verdict(s.x_most_open === s.count)],
    reportedMs('  largest gap once all are open', s.x_largest_gap_after_open_ms, s.p_largest_gap_after_open_ms),
    reportedMs('  time until all are open', s.x_all_open_ms, s.p_all_open_ms),
    [
      '  RSS per open stream',
      fmt.kb(s.x_rss_per_stream),
      `P ${fmt.kb(s.p_rss_per_stream)}`,
      `X/P ${fmt.n(s.x_rss_per_stream / s.p_rss_per_stream, 1)}`,
      '<= 48 KB',
      verdict(s.rss_met),
    ],
  ];
}

export function renderTable(rows: readonly Row[]): string {
  const [head, ...body] = rows;
  if (head === undefined) return '';
  const widths = head.map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  const line = (row: Row): string =>
    row
      .map((cell, col) => cell.padEnd(widths[col] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...body.map(line)].join('\n');
}
