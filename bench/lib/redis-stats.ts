// What a Redis node says about its own work (INFO), read before and after a measured round.
import { createClient } from 'redis';

export interface NodeStats {
  /** Every command executed, those run inside scripts and transactions included (Redis's own count). */
  commands: number;
  byCommand: Record<string, number>;
  /** Bytes received from clients (a master receives no replication traffic). */
  inputBytes: number;
  /** Bytes sent to clients and replicas; `replOutputBytes` of them to replicas. */
  outputBytes: number;
  replOutputBytes: number;
  /** CPU seconds of the main thread: the one that executes commands, the one that saturates. */
  cpuSeconds: number;
  usedMemory: number;
}

function fields(info: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) map.set(line.slice(0, at), line.slice(at + 1));
  }
  return map;
}

export async function nodeStats(port: number): Promise<NodeStats> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = fields(await client.info('everything'));
    const byCommand: Record<string, number> = {};
    let commands = 0;
    for (const [name, value] of info) {
      if (!name.startsWith('cmdstat_')) continue;
      const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
      const command = name.slice('cmdstat_'.length);
      // Our own INFO calls are not the workload.
      if (command === 'info') continue;
      byCommand[command] = calls;
      commands += calls;
    }
    const number = (name: string) => Number(info.get(name) ?? 0);
    return {
      commands,
      byCommand,
      inputBytes: number('total_net_input_bytes'),
      outputBytes: number('total_net_output_bytes'),
      replOutputBytes: number('total_net_repl_output_bytes'),
      cpuSeconds: number('used_cpu_user_main_thread') + number('used_cpu_sys_main_thread'),
      usedMemory: number('used_memory'),
    };
  } finally {
    client.destroy();
  }
}

/** after − before, node by node. */
export function delta(before: NodeStats, after: NodeStats): NodeStats {
  const byCommand: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after.byCommand)) {
    const d = calls - (before.byCommand[command] ?? 0);
    if (d > 0) byCommand[command] = d;
  }
  return {
    commands: after.commands - before.commands,
    byCommand,
    inputBytes: after.inputBytes - before.inputBytes,
    outputBytes: after.outputBytes - before.outputBytes,
    replOutputBytes: after.replOutputBytes - before.replOutputBytes,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    usedMemory: after.usedMemory - before.usedMemory,
  };
}

export async function memoryUsage(port: number, key: string): Promise<number> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.memoryUsage(key)) ?? 0;
  } finally {
    client.destroy();
  }
}
