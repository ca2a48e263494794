import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Composition } from './compose';

export interface Running {
  server: Server;
  url: string;
  /** Graceful: stop accepting, let in-flight calls and streams finish, then close the composition. */
  shutdown(reason: string): Promise<void>;
}

export interface ServeOptions {
  port: number;
  /** How long in-flight calls and streams may take to finish once shutdown begins. */
  shutdownTimeoutMs: number;
  host?: string;
}

/**
 * Node's own defaults (five minutes for a request) would let a slow client hold a socket for long:
 * the configured ones are set (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS). A
 * body that has not arrived within the request timeout gets Node's 408 and its socket closed;
 * headers within the headers timeout (slowloris). Node checks these once per CHECK_EVERY_MS, so a request can last
 * up to that much longer. Keep-alive stays above the 55 s Heroku's router keeps idle connections,
 * so that the router, never us, closes them: a request never races a closing socket.
 */
const CHECK_EVERY_MS = 1000;

/** Listens with the composition's app, and knows how to stop without dropping a call. */
export async function serve(composition: Composition, options: ServeOptions): Promise<Running> {
  const { logger, config } = composition;
  const server = createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: CHECK_EVERY_MS,
    },
    composition.app,
  );
  await listen(server, options);
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      composition.beginShutdown();
      logger.info({ reason, timeout_ms: options.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
      await drainConnections(server, options.shutdownTimeoutMs, () =>
        logger.warn('shutdown timeout reached: closing the remaining connections'),
      );
      await composition.close();
      logger.info('shut down');
    })();
    return closing;
  };
  return { server, url: `http://127.0.0.1:${port}`, shutdown };
}

function listen(server: Server, options: ServeOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${options.port} is already in use (set PORT)`
            : `cannot listen on port ${options.port}: ${err.message}`,
        ),
      );
    });
    if (options.host === undefined) server.listen(options.port, resolve);
    else server.listen(options.port, options.host, resolve);
  });
}

/**
 * Stops accepting and waits for the answers under way. server.close() only closes the connections
 * idle at that moment; a keep-alive connection whose answer finishes later would stay open until
 * keepAliveTimeout (65 s) and hold the shutdown to its timeout, so idle ones are closed as they appear.
 */
async function drainConnections(server: Server, timeoutMs: number, onTimeout: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  clearInterval(sweeper);
  if (timedOut) {
    onTimeout();
    server.closeAllConnections();
  }
}
