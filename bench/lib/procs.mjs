// Child processes of the bench: started here, all ended on the way out, whatever happens.
import { spawn, fork, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

const children = new Set();

export function logsDir(benchDir) {
  const dir = path.join(benchDir, 'logs');
  mkdirSync(dir, { recursive: true });
  // This run's logs only; a restarted child appends to its own.
  for (const file of readdirSync(dir)) if (file.endsWith('.log')) rmSync(path.join(dir, file));
  return dir;
}

function track(name, child, logFile) {
  const entry = { name, child, exited: false };
  children.add(entry);
  if (logFile !== undefined) {
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  child.once('exit', (code, signal) => {
    entry.exited = true;
    entry.code = code;
    entry.signal = signal;
    children.delete(entry);
  });
  return entry;
}

/** A command as a tracked child; output goes to its log file. */
export function startProcess(name, command, args, { env, cwd, logFile } = {}) {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(name, child, logFile);
}

/** A Node module as a tracked child with an IPC channel. */
export function forkModule(name, modulePath, args, { env, logFile, execArgv } = {}) {
  const child = fork(modulePath, args, { env, execArgv: execArgv ?? [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  return track(name, child, logFile);
}

/** Resolves with the first IPC message that `match` accepts; rejects if the child dies first. */
export function nextMessage(entry, match, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (!match(msg)) return;
      cleanup();
      resolve(msg);
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`${entry.name} exited (code ${code}, signal ${signal}) before answering`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${entry.name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      entry.child.off('message', onMessage);
      entry.child.off('exit', onExit);
    };
    entry.child.on('message', onMessage);
    entry.child.once('exit', onExit);
  });
}

/** Ends one child: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcess(entry, graceMs = 3000) {
  if (entry.exited) return;
  const exited = new Promise((resolve) => entry.child.once('exit', resolve));
  entry.child.kill('SIGTERM');
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...children].reverse().map((entry) => stopProcess(entry)));
}

/** Last resort on a synchronous exit path: no waiting possible, so SIGKILL. */
export function killAllNow() {
  for (const entry of children) {
    if (!entry.exited) {
      try {
        entry.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export function freePort(preferred) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const { port: got } = server.address();
        server.close(() => resolve(got));
      });
    });
  return (async () => {
    if (preferred !== undefined) {
      const got = await tryPort(preferred);
      if (got !== undefined) return got;
    }
    return tryPort(0);
  })();
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port, entry, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (entry?.exited) throw new Error(`${entry.name} exited (code ${entry.code}) while starting; see bench/logs/`);
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export function which(command) {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
