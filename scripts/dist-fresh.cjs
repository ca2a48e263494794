// When dist/ needs compiling, in one place: `npm start`, `npm run users` (build-if-possible.cjs)
// and the process tests' global setup (test/process/global-setup.ts) all ask this module, so
// they cannot disagree about whether a change to src/ has been compiled yet.
/* global __dirname */
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, rmSync, statSync, utimesSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** Besides src/, what changes the output: the compiler's options and the installed types. */
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function mtimeOf(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : mtimeOf(full));
  }
  return newest;
}

/**
 * True when dist/server.js was written after the last change to any file under src/ and to the
 * INPUTS. tsc rewrites every output on a full build, so dist/server.js dates the whole of dist/
 * (scripts/dev.cjs touches it after each watch compile, which rewrites only what changed).
 */
function isDistFresh(root = ROOT) {
  const built = mtimeOf(path.join(root, 'dist', 'server.js'));
  if (built === 0) return false;
  const newestInput = Math.max(newestMtime(path.join(root, 'src')), ...INPUTS.map((name) => mtimeOf(path.join(root, name))));
  return built > newestInput;
}

/**
 * Runs `tsc -p tsconfig.build.json`; returns its exit status. tsc writes its output even when it
 * reports type errors: a failed build dates dist/server.js back to 1970 so the next check compiles
 * again (and shows the errors again) instead of running what the failed build left behind.
 */
function compile(root = ROOT, tsc = require.resolve('typescript/bin/tsc')) {
  clean(root);
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  const status = result.status ?? 1;
  if (status !== 0) markStale(root);
  return status;
}

/**
 * Empties dist/ before a full build: tsc never deletes what it wrote for a module that has since
 * moved (src/config.ts became src/config/), and Node would still load that old file first.
 */
function clean(root = ROOT) {
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
}

function markStale(root = ROOT) {
  try {
    utimesSync(path.join(root, 'dist', 'server.js'), 0, 0);
  } catch {
    // No dist/server.js: stale already.
  }
}

module.exports = { ROOT, isDistFresh, compile, clean, markStale };
