import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';

/**
 * A Redis Cluster on loopback, as the cluster tests need it: 3 masters and 3 replicas of Debian's
 * redis-server 7 (`--cluster-enabled yes`), joined by `redis-cli --cluster create`. Every node
 * can be killed (SIGKILL) to watch its replica take over. The failover is made quick: a node is
 * declared failed after NODE_TIMEOUT_MS, and replicas sync at once (no diskless-sync delay, which
 * would otherwise leave a fresh replica unfit to take over for its first 5 s).
 */

const execFileAsync = promisify(execFile);
export const NODE_TIMEOUT_MS = 1000;
const NODES = 6;

export interface ClusterNode {
  port: number;
  process: ChildProcess;
}

export interface LocalCluster {
  /** The seed URLs, comma-separated (REDIS_URL with REDIS_CLUSTER=true), the password in each. */
  seeds: string;
  nodes: ClusterNode[];
  password: string | undefined;
  /** The master serving `key`'s slot now. */
  masterOf(key: string): Promise<ClusterNode>;
  /** SIGKILL: no goodbye to its clients or replica. */
  kill(node: ClusterNode): Promise<void>;
  /** Resolves when a replica has taken over every slot (cluster_state:ok without `node`). */
  replaced(node: ClusterNode, timeoutMs?: number): Promise<void>;
  /** Starts again every node that was killed (same port, same cluster configuration), and waits for the cluster to be whole. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Every node asks for it (requirepass), and replicas use it with their masters (masterauth). */
  password?: string;
  /** Every node speaks only TLS (clients, the cluster bus, replication), with a self-signed certificate. */
  tls?: boolean;
}

export async function startCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'perf-bff-cluster-'));
  const ports = await freeClusterPorts(NODES);
  const auth = options.password === undefined ? [] : ['--requirepass', options.password, '--masterauth', options.password];
  const cert = options.tls === true ? selfSignedCertificate(dir) : undefined;
  const tls = cert === undefined ? [] : tlsArguments(cert);
  const launch = (port: number) => startNode(port, dir, [...auth, ...tls], cert !== undefined);
  const nodes = await Promise.all(ports.map(launch));
  const cli = (...args: string[]) =>
    execFileAsync('redis-cli', [
      ...(options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning']),
      ...(cert === undefined ? [] : ['--tls', '--cacert', cert.cert]),
      ...args,
    ]);
  const scheme = cert === undefined ? 'redis' : 'rediss';
  const url = (port: number) =>
    `${scheme}://${options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}`;
  const info = async (port: number, section: string): Promise<string> => {
    const client = createClient({
      url: url(port),
      socket: { reconnectStrategy: false, connectTimeout: 500, ...(cert === undefined ? {} : { tls: true, ca: readFileSync(cert.cert) }) },
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return section === 'cluster' ? await client.clusterInfo() : await client.info(section);
    } finally {
      client.destroy();
    }
  };
  const whole = () =>
    waitUntil('the cluster to be ready, every replica in sync', 15_000, async () => {
      const states = await Promise.all(ports.map(async (p) => `${await info(p, 'cluster')}\n${await info(p, 'replication')}`));
      return states.every((s) => s.includes('cluster_state:ok') && (s.includes('role:master') || s.includes('master_link_status:up')));
    });
  const alive = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  const cluster: LocalCluster = {
    seeds: ports.slice(0, 3).map(url).join(','),
    nodes,
    password: options.password,
    async masterOf(key) {
      const { stdout } = await cli('-p', String(ports[0]), 'cluster', 'keyslot', key);
      const slot = Number(stdout.trim());
      for (const node of alive()) {
        const { stdout: shards } = await cli('-p', String(node.port), 'cluster', 'nodes');
        for (const line of shards.split('\n')) {
          // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>
          const fields = line.split(' ');
          const [address = '', flags = ''] = fields.slice(1, 3);
          const ranges = fields.slice(8);
          if (!flags.includes('master') || flags.includes('fail')) continue;
          const owns = ranges.some((r) => {
            const [from = -1, to = from] = r.split('-').map(Number);
            return slot >= from && slot <= to;
          });
          const port = Number(address.split('@')[0]?.split(':')[1]);
          const owner = nodes.find((n) => n.port === port);
          if (owns && owner !== undefined) return owner;
        }
        break;
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async kill(node) {
      if (node.process.exitCode !== null || node.process.signalCode !== null) return;
      const gone = new Promise((resolve) => node.process.once('exit', resolve));
      node.process.kill('SIGKILL');
      await gone;
    },
    async replaced(node, timeoutMs = 10_000) {
      await waitUntil(`a replica to replace the master on ${node.port}`, timeoutMs, async () => {
        const others = alive().filter((n) => n !== node);
        const { stdout } = await cli('-p', String(others[0]?.port), 'cluster', 'nodes');
        const line = stdout.split('\n').find((l) => l.includes(` 127.0.0.1:${node.port}@`)) ?? '';
        const failed = (line.split(' ')[2] ?? '').split(',').includes('fail');
        const states = await Promise.all(others.map((n) => info(n.port, 'cluster').catch(() => '')));
        return failed && states.every((s) => s.includes('cluster_state:ok'));
      });
    },
    async restart() {
      const dead = nodes.filter((n) => n.process.exitCode !== null || n.process.signalCode !== null);
      await Promise.all(dead.map(async (node) => (node.process = (await launch(node.port)).process)));
      await whole();
    },
    async stop() {
      await Promise.all(nodes.map((n) => cluster.kill(n)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cli('--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes');
    await whole();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function startNode(port: number, dir: string, extra: string[], tls: boolean): Promise<ClusterNode> {
  const args = [
    ...(tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)]),
    ...['--bind', '127.0.0.1', '--dir', dir],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(NODE_TIMEOUT_MS)],
    ...['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'],
    ...extra,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${out}`)), 10_000);
    child.once('exit', () => reject(new Error(`redis-server on ${port} exited: ${out}`)));
    child.stdout.on('data', () => {
      if (!out.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve({ port, process: child });
    });
  });
}

interface Certificate {
  cert: string;
  key: string;
}

/** Valid for 127.0.0.1, signed by nobody a client trusts (as some hosted Redis present). */
function selfSignedCertificate(dir: string): Certificate {
  const cert = path.join(dir, 'redis.crt');
  const key = path.join(dir, 'redis.key');
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', key, '-out', cert, ...subject], {
    stdio: 'ignore',
  });
  return { cert, key };
}

function tlsArguments({ cert, key }: Certificate): string[] {
  return [
    ...['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'],
    ...['--tls-cluster', 'yes', '--tls-replication', 'yes'],
  ];
}

/** `count` ports free together with their cluster bus ports (port + 10000). */
async function freeClusterPorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    const ports = Array.from({ length: count }, (_v, i) => base + i);
    const free = await Promise.all([...ports, ...ports.map((p) => p + 10_000)].map(portFree));
    if (free.every(Boolean)) return ports;
  }
  throw new Error('no free ports for a local Redis Cluster');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
