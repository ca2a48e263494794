import { createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';
import { uniqueIds } from '../infra/unique-id';

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
  // Remembered: an HMAC per logged request is measurable, and active users are few. Emptied when full.
  const known = new Map<string, string>();
  return (username) => {
    let pseudonym = known.get(username);
    if (pseudonym === undefined) {
      pseudonym = `u_${createHmac('sha256', secret).update(username).digest('hex').slice(0, 16)}`;
      if (known.size >= MAX_REMEMBERED_PSEUDONYMS) known.clear();
      known.set(username, pseudonym);
    }
    return pseudonym;
  };
}

const MAX_REMEMBERED_PSEUDONYMS = 10_000;

interface Locals {
  username?: string;
  call?: Record<string, unknown> & { delivered?: boolean };
  /** Resolves once the call's money is settled: the line waits for it (see logAfter). */
  settlement?: Promise<unknown>;
}

/**
 * The request's line waits for `settled`: a browser may close the connection before the call is
 * settled (the chat page does, once it has read a stream's [DONE]), and the line must still say
 * how the call was settled. `settled` must always resolve.
 */
export function logAfter(res: ServerResponse, settled: Promise<unknown>): void {
  (res as ServerResponse & { locals: Locals }).locals.settlement = settled;
}

/**
 * One JSON line per request, with metadata only: request id (also returned as X-Request-Id),
 * pseudonymous user, method, path, status, latency and the upstream call's facts, including its
 * settlement. No headers, no bodies, no query strings. Written when the answer is finished or
 * abandoned, and the call (if any) settled; `responseTime` is the answer's, not the settlement's.
 * `aborted` says that the browser left before the whole answer was written.
 * (pino-http did the same at several times the cost per request: a child logger each time.)
 */
export interface RequestLogOptions {
  logger: Logger;
  /** Turns a username into the id the log shows (see pseudonymFor). */
  pseudonym: (username: string) => string;
}

export function requestLog(options: RequestLogOptions): RequestHandler {
  const { logger, pseudonym } = options;
  const nextId = uniqueIds();
  return function requestLog(req, res, next) {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : nextId();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      const responseTime = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      const finished = res.writableFinished;
      const write = (): void => writeLine(responseTime, finished);
      const { settlement } = res.locals as Locals;
      if (settlement === undefined) write();
      else settlement.then(write, write);
    };
    const writeLine = (responseTime: number, finished: boolean): void => {
      if (res.statusCode < 500 && res.err === undefined && !logger.isLevelEnabled('info')) return;
      const locals = res.locals as Locals;
      const line: Record<string, unknown> = {
        request_id: id,
        req: { method: req.method, path: req.originalUrl.split('?')[0] },
        res: { status: res.statusCode },
        responseTime,
      };
      if (locals.username !== undefined) line.user = pseudonym(locals.username);
      if (locals.call !== undefined) line.call = locals.call;
      if (!finished && locals.call?.delivered !== true) line.aborted = true;
      if (res.err !== undefined) {
        line.err = { type: res.err.name, message: res.err.message, code: (res.err as { code?: unknown }).code };
        logger.error(line, 'request failed');
      } else if (res.statusCode >= 500) {
        logger.error(line, 'request failed');
      } else {
        logger.info(line, 'request');
      }
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };
}
