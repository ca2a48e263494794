import { randomUUID, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** A stable pseudonym for a username: logs can follow a user without naming them. */
export function pseudonymFor(secret: string): (username: string) => string {
  return (username) => `u_${createHmac('sha256', secret).update(username).digest('hex').slice(0, 16)}`;
}

interface Locals {
  username?: string;
  call?: Record<string, unknown>;
  rateLimited?: boolean;
}

/**
 * One JSON line per request, metadata only: request id (also returned as X-Request-Id, and
 * taken from the router's X-Request-Id when it is well formed), pseudonymous user, route,
 * status, latency and the upstream call's facts. No headers, no bodies, no query strings.
 */
export function requestLog(logger: Logger, pseudonym: (username: string) => string): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'request_id' },
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      err: (err: Error & { code?: unknown }) => ({ type: err.name, message: err.message, code: err.code }),
    },
    customLogLevel(_req, res, err) {
      if (err !== undefined || res.statusCode >= 500) return 'error';
      return 'info';
    },
    customProps(_req, res) {
      const locals = (res as unknown as { locals?: Locals }).locals ?? {};
      return {
        ...(locals.username === undefined ? {} : { user: pseudonym(locals.username) }),
        ...(locals.call === undefined ? {} : { call: locals.call }),
      };
    },
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
    wrapSerializers: false,
  });
}
