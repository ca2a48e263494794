import session from 'express-session';
import type { Store } from 'express-session';
import type { RequestHandler } from 'express';
import type { Config } from '../config';
import { HttpError } from '../http/errors';

declare module 'express-session' {
  interface SessionData {
    user?: { username: string };
    /** Epoch ms: sign-in time, for the absolute timeout. */
    createdAt?: number;
    /** Epoch ms: last activity we wrote down, for the idle timeout. */
    lastSeenAt?: number;
  }
}

export function sessionCookieName(production: boolean): string {
  // __Host- makes the browser insist on Secure, Path=/ and no Domain: no subdomain can plant it.
  return production ? '__Host-perf-bff.sid' : 'perf-bff.sid';
}

/** Seconds a session may still live in the store: the smaller of idle and absolute time left. */
export function sessionTtlSeconds(config: Config, now: () => number) {
  return (sess: session.SessionData): number => {
    const createdAt = sess.createdAt ?? now();
    const absoluteLeft = Math.ceil((createdAt + config.sessionAbsoluteTimeoutSeconds * 1000 - now()) / 1000);
    return Math.max(1, Math.min(config.sessionIdleTimeoutSeconds, absoluteLeft));
  };
}

export function sessionMiddleware(config: Config, store: Store): RequestHandler {
  const inner = session({
    name: sessionCookieName(config.production),
    secret: [...config.sessionSecrets],
    store,
    resave: false,
    saveUninitialized: false,
    // The cookie is not re-sent on every answer; the store's TTL carries the idle timeout.
    rolling: false,
    unset: 'destroy',
    cookie: {
      httpOnly: true,
      secure: config.production,
      sameSite: config.sessionCookieSameSite,
      path: '/',
      maxAge: config.sessionAbsoluteTimeoutSeconds * 1000,
    },
  });
  return function sessions(req, res, next) {
    let passed = false;
    inner(req, res, (err?: unknown) => {
      // express-session also reports a failed save/touch/destroy at the end of the answer through
      // this same callback, after the chain has moved on and the headers are out. A second next()
      // would reach Express's final handler, which destroys the socket under the answer.
      if (passed) return;
      passed = true;
      // A store that cannot be read must not look like "signed out" nor crash: it is a 503.
      if (err !== undefined && err !== null) {
        // With unset: 'destroy', express-session would otherwise delete this (unloaded) session
        // from the store at the end of the answer, signing the user out over a passing failure.
        delete (req as { sessionID?: string }).sessionID;
        next(new HttpError(503, 'service_unavailable', 'Sessions are temporarily unavailable.'));
        return;
      }
      next();
    });
  };
}

/**
 * Ends sessions past their idle or absolute timeout, and writes down activity at most every
 * tenth of the idle timeout: an unchanged session costs no store write on most requests.
 */
export function sessionTimeouts(config: Config, now: () => number): RequestHandler {
  const idleMs = config.sessionIdleTimeoutSeconds * 1000;
  const absoluteMs = config.sessionAbsoluteTimeoutSeconds * 1000;
  return function sessionTimeouts(req, _res, next) {
    const sess = req.session as session.Session & Partial<session.SessionData> | undefined;
    if (sess?.user === undefined) {
      next();
      return;
    }
    const t = now();
    const createdAt = sess.createdAt ?? 0;
    const lastSeenAt = sess.lastSeenAt ?? 0;
    if (t - createdAt >= absoluteMs || t - lastSeenAt >= idleMs) {
      sess.destroy(() => {
        // destroy() removes req.session; an empty one makes the request simply "signed out"
        // (401 on protected routes, and sign-in still works) rather than "store unavailable".
        req.sessionStore.generate(req);
        next();
      });
      return;
    }
    if (t - lastSeenAt >= idleMs / 10) sess.lastSeenAt = t;
    next();
  };
}
