import session from 'express-session';
import type { Store } from 'express-session';
import type { RequestHandler } from 'express';
import type { Config } from '../config';
import { HttpError } from '../http/errors';

/** Who a session belongs to. `username` is the id everything is keyed by (limits, ledger, logs). */
export interface SessionUser {
  username: string;
  /** From the identity provider, for display. */
  name?: string;
  email?: string;
  provider?: 'oidc';
  /** The plan this session last knew the user to be on (checked against the store on every chat). */
  plan?: string;
  /** A visitor without an account: limited per client address too. */
  guest?: { address: string };
  /** Signed in with a one-time password: may do nothing but choose their own (POST /auth/password). */
  mustChangePassword?: true;
}

declare module 'express-session' {
  interface SessionData {
    user?: SessionUser;
    /** Kept server-side for the provider's logout (id_token_hint); never sent to the browser. */
    oidc?: { idToken?: string };
    /** Epoch ms: sign-in time, for the absolute timeout. */
    createdAt?: number;
    /** Epoch ms: last activity we wrote down, for the idle timeout. */
    lastSeenAt?: number;
  }
}

export interface SessionSettings {
  /** The first signs new cookies; the others still verify (rotation). */
  secrets: readonly string[];
  /** Production: a Secure, `__Host-` prefixed cookie. */
  secureCookie: boolean;
  sameSite: 'strict' | 'lax' | 'none';
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

export function sessionSettings(config: Config): SessionSettings {
  return {
    secrets: config.sessionSecrets,
    secureCookie: config.production,
    sameSite: config.sessionCookieSameSite,
    idleTimeoutSeconds: config.sessionIdleTimeoutSeconds,
    absoluteTimeoutSeconds: config.sessionAbsoluteTimeoutSeconds,
  };
}

export function sessionCookieName(secureCookie: boolean): string {
  // __Host- makes the browser insist on Secure, Path=/ and no Domain: no subdomain can plant it.
  return secureCookie ? '__Host-perf-bff.sid' : 'perf-bff.sid';
}

/** Seconds a session may still live in the store: the smaller of idle and absolute time left. */
export function sessionTtlSeconds(settings: SessionSettings, now: () => number) {
  return (sess: session.SessionData): number => {
    const createdAt = sess.createdAt ?? now();
    const absoluteLeft = Math.ceil((createdAt + settings.absoluteTimeoutSeconds * 1000 - now()) / 1000);
    return Math.max(1, Math.min(settings.idleTimeoutSeconds, absoluteLeft));
  };
}

function validated(settings: SessionSettings): SessionSettings {
  if (settings.secrets.length === 0) throw new TypeError('sessions: at least one secret is needed');
  if (settings.sameSite === 'none' && !settings.secureCookie) throw new TypeError('sessions: SameSite=None needs a Secure cookie');
  if (!(settings.idleTimeoutSeconds > 0 && settings.absoluteTimeoutSeconds >= settings.idleTimeoutSeconds)) {
    throw new TypeError('sessions: the idle timeout must be positive and at most the absolute timeout');
  }
  return settings;
}

export function sessionMiddleware(options: { settings: SessionSettings; store: Store }): RequestHandler {
  const settings = validated(options.settings);
  const inner = session({
    name: sessionCookieName(settings.secureCookie),
    secret: [...settings.secrets],
    store: options.store,
    resave: false,
    saveUninitialized: false,
    // The cookie is not re-sent on every answer; the store's TTL carries the idle timeout.
    rolling: false,
    unset: 'destroy',
    cookie: {
      httpOnly: true,
      secure: settings.secureCookie,
      sameSite: settings.sameSite,
      path: '/',
      maxAge: settings.absoluteTimeoutSeconds * 1000,
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
export function sessionTimeouts(options: { settings: SessionSettings; now: () => number }): RequestHandler {
  const { settings, now } = options;
  const idleMs = settings.idleTimeoutSeconds * 1000;
  const absoluteMs = settings.absoluteTimeoutSeconds * 1000;
  return function sessionTimeouts(req, _res, next) {
    const sess = req.session as (session.Session & Partial<session.SessionData>) | undefined;
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
