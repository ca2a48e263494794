// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the samples landed: self time per
// package (a node_modules package, a perf-bff file, Node's internals) and per function.
import { readFileSync } from 'node:fs';

function owner(url) {
  if (url === '') return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm !== null) return nm[1];
  const dist = /\/dist\/(.+)\.js$/.exec(url);
  if (dist !== null) return `perf-bff:${dist[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url.split('/').slice(-2).join('/');
}

export function summarizeProfile(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const byOwner = new Map();
  const byFunction = new Map();
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const special = functionName.startsWith('(') ? functionName : undefined;
    const who = special ?? owner(url);
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    const fn = special ?? `${functionName || '(anonymous)'} ${who}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    // Inclusive: every package on the sampled stack, once (synchronous stacks only: work
    // resumed from I/O callbacks is charged to whoever runs the callback).
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const who = frame.functionName.startsWith('(') ? frame.functionName : owner(frame.url);
      if (!seen.has(who)) {
        seen.add(who);
        inclusive.set(who, (inclusive.get(who) ?? 0) + us);
      }
    }
  }
  const busy = total - idle;
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share_of_busy: Number((us / busy).toFixed(3)) }));
  return { file, total_ms: Math.round(total / 1000), busy_ms: Math.round(busy / 1000), by_package: rank(byOwner), by_function: rank(byFunction), inclusive_by_package: rank(inclusive) };
}

export function printProfileSummary(summary) {
  const lines = [`CPU profile ${summary.file}: ${summary.busy_ms} ms busy of ${summary.total_ms} ms`, '  self time by package:'];
  for (const row of summary.by_package) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  lines.push('  total time by package (on the stack, synchronous part):');
  for (const row of summary.inclusive_by_package) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  lines.push('  self time by function:');
  for (const row of summary.by_function) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  return lines.join('\n');
}
