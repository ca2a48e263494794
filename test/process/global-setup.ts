import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The process suite runs the compiled server (`node dist/server.js`). CI builds first
 * (.ci/run: `npm run build` then `npm test`); locally, a dist/ older than src/ is rebuilt here,
 * once, before any test file starts.
 */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export default function globalSetup(): void {
  const root = path.resolve(__dirname, '..', '..');
  let built: number;
  try {
    built = statSync(path.join(root, 'dist', 'server.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestMtime(path.join(root, 'src'))) return;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
