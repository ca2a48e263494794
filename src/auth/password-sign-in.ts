import { Router, json } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { JSON_BODY_TYPES } from '../http/cross-site';
import { HttpError } from '../http/errors';
import { withDeadline } from '../infra/deadline';
import type { PlanStore } from '../limits/plans';
import type { SessionIndex } from '../stores/session-index';
import type { UserStore } from '../stores/user-store';
import type { PasswordHasher } from './passwords';
import { startSession } from './session-lifecycle';
import type { SessionSettings } from './sessions';
import { normalizeUsername } from './usernames';

export interface PasswordSignInOptions {
  session: SessionSettings;
  sessionIndex: SessionIndex;
  users: UserStore;
  /** The plan the user is on is remembered in the session (the chat route checks it against the store). */
  planStore: PlanStore;
  passwords: PasswordHasher;
  /** Counts sign-in attempts per username + IP; a success clears the count. */
  loginThrottle: RateLimiterAbstract;
  /** Counts sign-in attempts per IP over all usernames; a success gives its attempt back. */
  loginIpThrottle: RateLimiterAbstract;
  now: () => number;
  onFailedLogin?: () => void;
}

const credentials = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const unavailable = () => new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
const wrong = () => new HttpError(401, 'invalid_credentials', 'Wrong username or password.');

/** POST /auth/login: local users, with scrypt hashes (npm run users). */
export function passwordSignIn(options: PasswordSignInOptions): Router {
  const { users, passwords, loginThrottle, loginIpThrottle } = options;
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
      throw unavailable();
    }
    // Redis away: a 503 like every other route that needs it, not a 500.
    const user = await users.get(username).catch(() => Promise.reject(unavailable()));
    if (!(await passwords.verify(parsed.data.password, user?.passwordHash)) || user === undefined) {
      options.onFailedLogin?.();
      throw wrong();
    }
    // Best effort: if it fails, the failures stay counted until their window ends.
    await withDeadline(Promise.all([loginThrottle.delete(throttleKey), loginIpThrottle.reward(ip, 1)]), 'sign-in throttle').catch(
      () => undefined,
    );
    const verifiedHash = user.passwordHash;
    const plan = await options.planStore.get(user.username).catch(() => Promise.reject(unavailable()));
    await startSession(
      req,
      { username: user.username, ...(plan === undefined ? {} : { plan }) },
      {
        index: options.sessionIndex,
        settings: options.session,
        now: options.now,
        // The password checked above is still the user's (not changed, nor the user removed, meanwhile).
        stillValid: async () => (await users.get(username))?.passwordHash === verifiedHash,
      },
    );
    res.status(200).json({ user: { username: user.username } });
  });

  return router;
}
