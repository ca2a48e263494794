// Child processes of the bench: started here, all ended on the way out, whatever happens.
import { execFileSync, fork, spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { listening } from '../../test/helpers/net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { clearTimeout, setTimeout } from 'node:timers';

/** A child the bench started; `exited`, `code` and `signal` are filled in when it ends. */
export interface Tracked<C extends ChildProcess = ChildProcess> {
  name: string;
  child: C;
  exited: boolean;
  code?: number | null;
  signal?: NodeJS.Signals | null;
}

/** A started command whose stdout and stderr are readable (and go to its log file). */
export type TrackedCommand = Tracked<ChildProcessByStdio<null, Readable, Readable>>;

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile?: string;
  execArgv?: string[];
}

const children = new Set<Tracked>();

export function logsDir(benchDir: string): string {
  const dir = path.join(benchDir, 'logs');
  mkdirSync(dir, { recursive: true });
  // This run's logs only; a restarted child appends to its own.
  for (const file of readdirSync(dir)) if (file.endsWith('.log')) rmSync(path.join(dir, file));
  return dir;
}

function track<C extends ChildProcess>(name: string, child: C, logFile: string | undefined): Tracked<C> {
  const entry: Tracked<C> = { name, child, exited: false };
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
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  { env, cwd, logFile }: ChildOptions = {},
): TrackedCommand {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(name, child, logFile);
}

/** A Node module as a tracked child with an IPC channel. */
export function forkModule(
  name: string,
  modulePath: string,
  args: readonly string[],
  { env, logFile, execArgv }: ChildOptions = {},
): Tracked {
  const child = fork(modulePath, args, { env, execArgv: execArgv ?? [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  return track(name, child, logFile);
}

/**
 * Whether an IPC message is of this type. The children are the bench's own (their messages are
 * typed where they are sent), so the type names the rest of the shape.
 */
export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}

/** Resolves with the first IPC message that `match` accepts; rejects if the child dies first. */
export function nextMessage<T>(entry: Tracked, match: (msg: unknown) => msg is T, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (!match(msg)) return;
      cleanup();
      resolve(msg);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${entry.name} exited (code ${code}, signal ${signal}) before answering`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${entry.name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      entry.child.off('message', onMessage);
      entry.child.off('exit', onExit);
    };
    entry.child.on('message', onMessage);
    entry.child.once('exit', onExit);
  });
}

/** Ends one child: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcess(entry: Tracked, graceMs = 3000): Promise<void> {
  if (entry.exited) return;
  const exited = new Promise<void>((resolve) => entry.child.once('exit', () => resolve()));
  entry.child.kill('SIGTERM');
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].reverse().map((entry) => stopProcess(entry)));
}

/** Last resort on a synchronous exit path: no waiting possible, so SIGKILL. */
export function killAllNow(): void {
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

function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: got } = server.address() as AddressInfo;
      server.close(() => resolve(got));
    });
  });
}

/** The preferred port when it is free, else one the system picks. */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred !== undefined) {
    const got = await tryPort(preferred);
    if (got !== undefined) return got;
  }
  const any = await tryPort(0);
  if (any === undefined) throw new Error('no free port on 127.0.0.1');
  return any;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, entry?: Tracked, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (entry?.exited === true) throw new Error(`${entry.name} exited (code ${entry.code}) while starting; see bench/logs/`);
    if (await listening(port)) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * CPU time (user + system) a process has used so far, in microseconds, from /proc (clock ticks of
 * 10 ms: over a round of seconds the error is well under 1%). Unlike requests per second, CPU per
 * request does not move when something else shares the machine.
 */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** The child's pid; a spawned child has none only when spawning failed. */
export function pidOf(entry: Tracked): number {
  const { pid } = entry.child;
  if (pid === undefined) throw new Error(`${entry.name} has no pid (it failed to start); see bench/logs/`);
  return pid;
}

export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
