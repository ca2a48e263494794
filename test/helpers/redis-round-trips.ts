import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** A lone PING as RESP2 and RESP3 clients write it. */
const KEEP_ALIVE_PINGS = new Set(['*1\r\n$4\r\nPING\r\n']);

/**
 * A TCP relay in front of Redis that counts round trips: a "flight" is a burst of commands the
 * client sends after having heard back, so pipelined commands written together count once.
 * Used by the round-trip test and by `npm run bench`; MONITOR counts commands, not trips.
 */
export class RedisRoundTripCounter {
  flights = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target = { host: '127.0.0.1', port: 6379 }) {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      let awaiting = false;
      client.on('data', (chunk) => {
        upstream.write(chunk);
        // node-redis's keep-alive PING (every 30 s) is no round trip of a request's.
        if (KEEP_ALIVE_PINGS.has(chunk.toString('latin1'))) return;
        if (!awaiting) this.flights += 1;
        awaiting = true;
      });
      upstream.on('data', (chunk) => {
        awaiting = false;
        client.write(chunk);
      });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
        s.on('error', () => undefined);
      }
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
