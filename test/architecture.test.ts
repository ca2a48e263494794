import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** docs/architecture.md is the map of the code: it must name only what exists, and every part of src/. */
const ROOT = path.join(__dirname, '..');
const doc = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
const named = [
  ...new Set(
    [...doc.matchAll(/`((?:src|test|docs|public|bench)\/[^`\s]*|eslint\.config\.mjs|\.env\.example|app\.json)`/g)].map((m) => m[1] ?? ''),
  ),
];

function exists(pattern: string): boolean {
  if (!pattern.includes('*')) return existsSync(path.join(ROOT, pattern));
  const dir = path.dirname(pattern);
  const re = new RegExp(`^${path.basename(pattern).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
  return readdirSync(path.join(ROOT, dir)).some((name) => re.test(name));
}

describe('docs/architecture.md', () => {
  test('names paths, and every one of them exists', () => {
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !exists(p))).toEqual([]);
  });

  test('describes every folder of src/', () => {
    const folders = readdirSync(path.join(ROOT, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `src/${d.name}/`);
    expect(folders.filter((f) => !named.includes(f))).toEqual([]);
  });
});
