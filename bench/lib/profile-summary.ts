// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the samples landed: self time per
// package (a node_modules package, a perf-bff file, Node's internals) and per function.
import { readFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';

export interface RankedTime {
  name: string;
  ms: number;
  share_of_busy: number;
}

export interface ProfileSummary {
  file: string;
  total_ms: number;
  busy_ms: number;
  by_package: RankedTime[];
  by_function: RankedTime[];
  inclusive_by_package: RankedTime[];
}

function owner(url: string): string {
  if (url === '') return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  const dist = /\/dist\/(.+)\.js$/.exec(url);
  if (dist?.[1] !== undefined) return `perf-bff:${dist[1]}`;
  if (url.startsWith('node:'))
    return url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  return url.split('/').slice(-2).join('/');
}

/** A frame's bucket: V8's pseudo-frames ("(garbage collector)", "(program)") name themselves. */
function bucketOf(frame: Profiler.ProfileNode['callFrame']): string {
  return frame.functionName.startsWith('(') ? frame.functionName : owner(frame.url);
}

/** Microseconds of samples whose top frame is each node. */
function selfTimes(profile: Profiler.Profile): Map<number, number> {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i += 1) {
    const id = samples[i];
    if (id !== undefined) selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  return selfUs;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profiler.Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  let total = 0;
  let idle = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfTimes(profile)) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const who = bucketOf(node.callFrame);
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    const fn = functionName.startsWith('(') ? functionName : `${functionName || '(anonymous)'} ${who}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    // Inclusive: every package on the sampled stack, once (synchronous stacks only: work
    // resumed from I/O callbacks is charged to whoever runs the callback).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const bucket = bucketOf(frame);
      if (!seen.has(bucket)) {
        seen.add(bucket);
        inclusive.set(bucket, (inclusive.get(bucket) ?? 0) + us);
      }
    }
  }
  const busy = total - idle;
  const rank = (map: Map<string, number>): RankedTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share_of_busy: Number((us / busy).toFixed(3)) }));
  return {
    file,
    total_ms: Math.round(total / 1000),
    busy_ms: Math.round(busy / 1000),
    by_package: rank(byOwner),
    by_function: rank(byFunction),
    inclusive_by_package: rank(inclusive),
  };
}

export function printProfileSummary(summary: ProfileSummary): string {
  const lines = [`CPU profile ${summary.file}: ${summary.busy_ms} ms busy of ${summary.total_ms} ms`, '  self time by package:'];
  for (const row of summary.by_package) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  lines.push('  total time by package (on the stack, synchronous part):');
  for (const row of summary.inclusive_by_package) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  lines.push('  self time by function:');
  for (const row of summary.by_function) lines.push(`    ${(row.share_of_busy * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  return lines.join('\n');
}
