// The table printed at the end of a run, each figure against its target.

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = {
  n: (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a'),
  ms: (v) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : 'n/a'),
  signedMs: (v) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms` : 'n/a'),
  kb: (v) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} KB` : 'n/a'),
  mb: (v) => (Number.isFinite(v) ? `${(v / 1024 / 1024).toFixed(1)} MB` : 'n/a'),
};

/** Rows of [figure, X, reference, X against reference, target, verdict]. */
export function tableRows(f) {
  const verdict = (ok) => (ok === undefined ? '' : ok ? 'met' : 'MISSED');
  return [
    ['figure', 'X (perf-bff)', 'reference', 'X vs reference', 'target', ''],
    [
      `1 peak req/s, JSON, c=${f.peak.connections}`,
      `${fmt.n(f.peak.x_rps)} req/s`,
      `P ${fmt.n(f.peak.p_rps)} req/s`,
      `X/P ${fmt.n(f.peak.ratio, 2)}`,
      `>= 0.40, 0 errors`,
      verdict(f.peak.met),
    ],
    ['  errors in those rounds', `${f.peak.x_errors}`, `P ${f.peak.p_errors}`, '', '0', verdict(f.peak.x_errors === 0 && f.peak.p_errors === 0)],
    ['2 latency p50 at c=1', fmt.ms(f.latency.x_p50_ms), `P ${fmt.ms(f.latency.p_p50_ms)}`, fmt.signedMs(f.latency.added_p50_ms), '<= +1 ms', verdict(f.latency.met)],
    ['  latency p99 at c=1', fmt.ms(f.latency.x_p99_ms), `P ${fmt.ms(f.latency.p_p99_ms)}`, fmt.signedMs(f.latency.added_p99_ms), '(reported)', ''],
    ['3 stream first byte p50', fmt.ms(f.ttfb.x_ms), `direct ${fmt.ms(f.ttfb.direct_ms)}`, fmt.signedMs(f.ttfb.added_ms), '<= +2 ms', verdict(f.ttfb.met)],
    ['  (P, for comparison)', '', `P ${fmt.ms(f.ttfb.p_ms)}`, fmt.signedMs(f.ttfb.p_ms - f.ttfb.direct_ms), '', ''],
    [
      `4 ${f.streams.count} streams: complete`,
      `${f.streams.x_complete}/${f.streams.count}`,
      `P ${f.streams.p_complete}/${f.streams.count}`,
      `${f.streams.x_events_received}/${f.streams.events_expected} events`,
      'no event lost',
      verdict(f.streams.lossless),
    ],
    [
      `  largest gap, a chunk every ${f.streams.chunk_delay_ms} ms`,
      fmt.ms(f.streams.x_largest_gap_ms),
      `P ${fmt.ms(f.streams.p_largest_gap_ms)}`,
      fmt.signedMs(f.streams.x_largest_gap_ms - f.streams.p_largest_gap_ms),
      '(reported)',
      '',
    ],
    ['  most streams open at once', `${f.streams.x_most_open}`, `P ${f.streams.p_most_open}`, '', `${f.streams.count}`, verdict(f.streams.x_most_open === f.streams.count)],
    [
      '  largest gap once all are open',
      fmt.ms(f.streams.x_largest_gap_after_open_ms),
      `P ${fmt.ms(f.streams.p_largest_gap_after_open_ms)}`,
      fmt.signedMs(f.streams.x_largest_gap_after_open_ms - f.streams.p_largest_gap_after_open_ms),
      '(reported)',
      '',
    ],
    ['  time until all are open', fmt.ms(f.streams.x_all_open_ms), `P ${fmt.ms(f.streams.p_all_open_ms)}`, fmt.signedMs(f.streams.x_all_open_ms - f.streams.p_all_open_ms), '(reported)', ''],
    ['  RSS per open stream', fmt.kb(f.streams.x_rss_per_stream), `P ${fmt.kb(f.streams.p_rss_per_stream)}`, `X/P ${fmt.n(f.streams.x_rss_per_stream / f.streams.p_rss_per_stream, 1)}`, '<= 48 KB', verdict(f.streams.rss_met)],
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
      '<= 3 (2 better)',
      verdict(f.redis.met),
    ],
  ];
}

export function renderTable(rows) {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => String(row[col]).length)));
  const line = (row) => row.map((cell, col) => String(cell).padEnd(widths[col])).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}
