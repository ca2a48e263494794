import { randomUUID, createHmac } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';

declare module 'node:http' {
  interface IncomingMessage {
    /** Ours, or the router's X-Request-Id when it is well formed. */
    id?: string;
  }
  interface ServerResponse {
    /** Set by the error handler for 5xx answers; the request log line carries it. */
    err?: Error;
  }
}

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** A stable pseudonym for a username: logs can follow a user without naming them. */
export function pseudonymFor(secret: string): (username: string) => string {
  return (username) => `u_${createHmac('sha256', secret).update(username).digest('hex').slice(0, 16)}`;
}

interface Locals {
  username?: string;
  call?: Record<string, unknown>;
}

/**
 * One JSON line per request, written when the answer is finished or abandoned, with metadata
 * only: request id (also returned as X-Request-Id), pseudonymous user, method, path, status,
 * latency and the upstream call's facts. No headers, no bodies, no query strings.
 * (pino-http did the same at several times the cost per request: a child logger each time.)
 */
export interface RequestLogOptions {
  logger: Logger;
  /** Turns a username into the id the log shows (see pseudonymFor). */
  pseudonym: (username: string) => string;
}

export function requestLog(options: RequestLogOptions): RequestHandler {
  const { logger, pseudonym } = options;
  return function requestLog(req, res, next) {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    let written = false;
    const write = (): void => {
      if (written) return;
      written = true;
      if (res.statusCode < 500 && res.err === undefined && !logger.isLevelEnabled('info')) return;
      const locals = res.locals as Locals;
      const line: Record<string, unknown> = {
        request_id: id,
        req: { method: req.method, path: req.originalUrl.split('?')[0] },
        res: { status: res.statusCode },
        responseTime: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
      };
      if (locals.username !== undefined) line.user = pseudonym(locals.username);
      if (locals.call !== undefined) line.call = locals.call;
      if (!res.writableFinished) line.aborted = true;
      if (res.err !== undefined) {
        line.err = { type: res.err.name, message: res.err.message, code: (res.err as { code?: unknown }).code };
        logger.error(line, 'request failed');
      } else if (res.statusCode >= 500) {
        logger.error(line, 'request failed');
      } else {
        logger.info(line, 'request');
      }
    };
    res.once('finish', write);
    res.once('close', write);
    next();
  };
}
