// `npm run dev`: tsc in watch mode, and `node dist/server.js` (re)started after each compile that
// found no errors, its JSON logs made readable by pino-pretty. A small script instead of
// concurrently/nodemon: it has to read tsc's output anyway to know when a compile succeeded
// (`node --watch` would also restart on the half-broken output tsc writes despite type errors).
// Ctrl-C (or SIGTERM) stops the server gracefully, stops tsc, and exits once both are gone.
'use strict';
const { spawn } = require('node:child_process');
const { utimesSync } = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { setInterval, setTimeout, clearTimeout } = require('node:timers');
const { prettyFactory } = require('pino-pretty');
const { ROOT } = require('./dist-fresh.cjs');

const SERVER = path.join(ROOT, 'dist', 'server.js');
/** A restart waits this long for the old server's graceful shutdown (open streams) before killing it. */
const STOP_GRACE_MS = 5000;
const pretty = prettyFactory({ colorize: Boolean(process.stdout.isTTY) });

let server; // the running `node dist/server.js`, if any
const stoppedByUs = new WeakSet();
let stopping = false;
let restarts = Promise.resolve();

const say = (message) => process.stdout.write(`[dev] ${message}\n`);
/** Each child's 'close': it exited and its output was read to the end (its last log lines are printed). */
const closed = new WeakMap();
function track(child) {
  closed.set(child, new Promise((resolve) => child.once('close', resolve)));
  return child;
}

// ---------------------------------------------------------------- tsc -w

const tsc = track(
  spawn(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-w',
      '-p',
      path.join(ROOT, 'tsconfig.build.json'),
      '--preserveWatchOutput',
      // Piped, tsc turns colours off: keep them when a person is watching.
      ...(process.stdout.isTTY ? ['--pretty'] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  ),
);
readline.createInterface({ input: tsc.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  // "Found 0 errors. Watching for file changes." ends every compile (TS6193/TS6194).
  // eslint-disable-next-line no-control-regex
  const found = /Found (\d+) errors?\./.exec(line.replace(/\u001b\[[0-9;]*m/g, ''));
  if (found === null || stopping) return;
  if (found[1] === '0') restart();
  else
    say(
      server === undefined
        ? 'the server starts after a compile without errors'
        : 'compile failed: the server keeps running the last good build',
    );
});
tsc.once('exit', (code, signal) => {
  if (stopping) return;
  say(`tsc stopped (${signal ?? code}): stopping`);
  void stop(code ?? 1);
});

// ---------------------------------------------------------------- the server

function restart() {
  // A watch compile rewrites only what changed: date dist/server.js so `npm start` (scripts/dist-fresh.cjs) sees dist/ as fresh.
  try {
    const now = new Date();
    utimesSync(SERVER, now, now);
  } catch {
    // Nothing emitted (noEmit in a local tsconfig?): `npm start` compiles again, that is all.
  }
  restarts = restarts.then(async () => {
    if (server !== undefined) {
      say('compiled: restarting the server');
      await stopServer();
    }
    if (!stopping) startServer();
  });
}

function startServer() {
  // Source maps: stack traces name the .ts lines.
  const child = track(spawn(process.execPath, ['--enable-source-maps', SERVER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
  server = child;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const text = pretty(line); // undefined for a line below pino-pretty's minimum level
    if (text !== undefined) process.stdout.write(text);
  });
  child.once('exit', (code, signal) => {
    if (server === child) server = undefined;
    if (!stopping && !stoppedByUs.has(child)) say(`the server exited (${signal ?? code}); it starts again after the next compile`);
  });
}

async function stopServer() {
  const child = server;
  if (child === undefined) return;
  stoppedByUs.add(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await closed.get(child);
  clearTimeout(timer);
}

// ---------------------------------------------------------------- stopping

async function stop(code) {
  stopping = true;
  tsc.kill('SIGTERM');
  await Promise.all([restarts.then(stopServer), closed.get(tsc)]);
  process.exit(code);
}

// Ctrl-C reaches the whole process group (npm, this script, tsc, the server), and npm forwards it
// once more: later signals are ignored, the stop is already under way and bounded by STOP_GRACE_MS.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (!stopping) void stop(0);
  });
}
// `kill <npm's pid>` reaches only npm and the `sh -c` it runs this script with: when that parent is
// gone (this process is handed to another), stop as if signalled instead of running on unseen.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) void stop(0);
}, 500).unref();
// Whatever ends this process, its children do not outlive it.
process.once('exit', () => {
  server?.kill('SIGKILL');
  tsc.kill('SIGKILL');
});
