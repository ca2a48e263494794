import { Router, json } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { JSON_BODY_TYPES } from '../http/cross-site';
import { HttpError } from '../http/errors';
import { withDeadline } from '../infra/deadline';
import type { Logger } from '../infra/logger';
import type { UserStore } from '../stores/user-store';
import type { PasswordHasher } from './passwords';
import { requireUser } from './require-user';
import { sessionCookieName } from './sessions';
import type { SessionSettings } from './sessions';
import { normalizeUsername } from './usernames';

export interface AuthOptions {
  session: SessionSettings;
  users: UserStore;
  passwords: PasswordHasher;
  /** Counts sign-in attempts per username + IP; a success clears the count. */
  loginThrottle: RateLimiterAbstract;
  /** Counts sign-in attempts per IP over all usernames; a success gives its attempt back. */
  loginIpThrottle: RateLimiterAbstract;
  logger: Logger;
  now: () => number;
  onFailedLogin?: () => void;
}

const credentials = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

/** express-session's callback methods as promises. */
function settle(call: (done: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    call((err) => {
      if (err === undefined || err === null) resolve();
      else reject(err instanceof Error ? err : new Error('session store error'));
    });
  });
}

const regenerate = (req: Express.Request) => settle((done) => req.session.regenerate(done));
const save = (req: Express.Request) => settle((done) => req.session.save(done));
const destroy = (req: Express.Request) => settle((done) => req.session.destroy(done));

export function authRoutes(deps: AuthOptions): Router {
  const { session, users, passwords, loginThrottle, loginIpThrottle, now } = deps;
  const router = Router();
  // text/plain only gets this far from our own page (see http/cross-site.ts).
  const body = json({ limit: '8kb', strict: true, type: JSON_BODY_TYPES });

  router.post('/login', body, async function login(req, res) {
    const parsed = credentials.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Send {"username": "...", "password": "..."}.');
    const username = normalizeUsername(parsed.data.username);
    const ip = req.ip ?? 'unknown';
    const throttleKey = `${username}|${ip}`;
    // Consumed before checking, so that concurrent guesses cannot slip past the count. The IP
    // count stops one client from spending our CPU on scrypt with ever new usernames.
    try {
      await withDeadline(Promise.all([loginIpThrottle.consume(ip), loginThrottle.consume(throttleKey)]), 'sign-in throttle');
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        throw new HttpError(429, 'too_many_attempts', 'Too many sign-in attempts; wait before trying again.', retryAfter);
      }
      throw new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
    }
    let user;
    try {
      user = await users.get(username);
    } catch {
      // Redis away: a 503 like every other route that needs it, not a 500.
      throw new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
    }
    if (!(await passwords.verify(parsed.data.password, user?.passwordHash)) || user === undefined) {
      deps.onFailedLogin?.();
      throw new HttpError(401, 'invalid_credentials', 'Wrong username or password.');
    }
    // Best effort: if it fails, the failures stay counted until their window ends.
    await withDeadline(Promise.all([loginThrottle.delete(throttleKey), loginIpThrottle.reward(ip, 1)]), 'sign-in throttle').catch(
      () => undefined,
    );
    // A new session id on every sign-in: an id planted before sign-in is worth nothing after it.
    await regenerate(req);
    const t = now();
    req.session.user = { username: user.username };
    req.session.createdAt = t;
    req.session.lastSeenAt = t;
    await save(req);
    res.status(200).json({ user: { username: user.username } });
  });

  router.post('/logout', async function logout(req, res) {
    if ((req as { session?: unknown }).session !== undefined && req.session.user !== undefined) await destroy(req);
    res.clearCookie(sessionCookieName(session.secureCookie), {
      path: '/',
      httpOnly: true,
      secure: session.secureCookie,
      sameSite: session.sameSite,
    });
    res.status(204).end();
  });

  router.get('/me', requireUser, function me(req, res) {
    const createdAt = req.session.createdAt ?? now();
    const lastSeenAt = req.session.lastSeenAt ?? now();
    const expiresAt = Math.min(lastSeenAt + session.idleTimeoutSeconds * 1000, createdAt + session.absoluteTimeoutSeconds * 1000);
    res.json({ user: { username: req.session.user?.username }, session: { expires_at: new Date(expiresAt).toISOString() } });
  });

  return router;
}
