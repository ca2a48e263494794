// Counts the commands a Redis receives with MONITOR, so that the bench can tell how many round
// trips one chat request costs. Commands run inside a Lua script ("[0 lua]") are not round
// trips; a MULTI … EXEC block is one.
import { connect } from 'node:net';
import { setTimeout } from 'node:timers';

export interface CommandCount {
  roundTrips: number;
  /** Command name (or `MULTI(A,B)` for a transaction) → how many times it was sent. */
  byCommand: Record<string, number>;
}

export interface Monitor {
  stop(): CommandCount;
}

export async function startMonitor(port: number): Promise<Monitor> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  const lines: string[] = [];
  let tail = '';
  socket.on('data', (text: string) => {
    const parts = (tail + text).split('\r\n');
    tail = parts.pop() ?? '';
    for (const line of parts) if (line.startsWith('+') && line !== '+OK') lines.push(line);
  });
  socket.write('MONITOR\r\n');
  // MONITOR answers +OK first; wait for it so that no command of the measured batch is missed.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    stop() {
      socket.destroy();
      return summarize(lines);
    },
  };
}

/** `+1700000000.123456 [0 127.0.0.1:5555] "GET" "key"` → round trips, by command name. */
export function summarize(lines: readonly string[]): CommandCount {
  const inMulti = new Map<string, string[]>();
  const byCommand: Record<string, number> = {};
  let roundTrips = 0;
  for (const line of lines) {
    const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (match === null) continue;
    const [, client = '', rawName = ''] = match;
    if (client === 'lua') continue;
    const name = rawName.toUpperCase();
    if (name === 'MULTI') {
      inMulti.set(client, []);
      continue;
    }
    const block = inMulti.get(client);
    if (block !== undefined && name !== 'EXEC' && name !== 'DISCARD') {
      block.push(name);
      continue;
    }
    const label = block !== undefined ? `MULTI(${block.join(',')})` : name;
    inMulti.delete(client);
    byCommand[label] = (byCommand[label] ?? 0) + 1;
    roundTrips += 1;
  }
  return { roundTrips, byCommand };
}
