import { Router, json } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { JSON_BODY_TYPES } from '../http/cross-site';
import { HttpError } from '../http/errors';
import { withDeadline } from '../infra/deadline';
import type { PlanStore } from '../limits/plans';
import type { SessionIndex } from '../stores/session-index';
import type { UserStore } from '../stores/user-store';
import type { Logger } from '../infra/logger';
import type { Accounts } from './accounts';
import { MIN_PASSWORD_LENGTH } from './passwords';
import type { PasswordHasher } from './passwords';
import { requireUserMayChangePassword } from './require-user';
import { startSession } from './session-lifecycle';
import { throttled } from './throttled';
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
  /** Writes a changed password (and ends the user's other sessions). */
  accounts: Accounts;
  now: () => number;
  logger: Logger;
  /** How the log names a user (see http/request-log.ts). */
  pseudonym: (username: string) => string;
  onFailedLogin?: () => void;
}

const credentials = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});

const unavailable = () => new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
const wrong = () => new HttpError(401, 'invalid_credentials', 'Wrong username or password.');

/** POST /auth/login and POST /auth/password: local users, with scrypt hashes (npm run users). */
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
    await throttled(
      Promise.all([loginIpThrottle.consume(ip), loginThrottle.consume(throttleKey)]),
      'Too many sign-in attempts; wait before trying again.',
    );
    // Redis away: a 503 like every other route that needs it, not a 500.
    const user = await users.get(username).catch(() => Promise.reject(unavailable()));
    if (!(await passwords.verify(parsed.data.password, user?.passwordHash)) || user === undefined) {
      options.onFailedLogin?.();
      throw wrong();
    }
    const oneTime = user.oneTimePassword;
    if (oneTime !== undefined && Date.parse(oneTime.expiresAt) <= options.now()) {
      // Said as the same 401 (nothing to learn from outside); the operator learns it from the log.
      options.logger.warn(
        { user: options.pseudonym(user.username) },
        'a sign-in with an expired one-time password: make a new one with `npm run users -- add <username>`',
      );
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
      { username: user.username, ...(plan === undefined ? {} : { plan }), ...(oneTime === undefined ? {} : { mustChangePassword: true }) },
      {
        index: options.sessionIndex,
        settings: options.session,
        now: options.now,
        // The password checked above is still the user's (not changed, nor the user removed, meanwhile).
        stillValid: async () => (await users.get(username))?.passwordHash === verifiedHash,
      },
    );
    res.status(200).json({ user: { username: user.username, ...(oneTime === undefined ? {} : { must_change_password: true }) } });
  });

  /**
   * A signed-in password user chooses a new password, proving the current one (throttled like a
   * sign-in: it is a guess at it). Every session of the user ends, and this one starts anew
   * without the one-time flag.
   */
  router.post('/password', body, requireUserMayChangePassword, async function changePassword(req, res) {
    const parsed = passwordChange.safeParse(req.body);
    if (!parsed.success) {
      throw new HttpError(
        400,
        'invalid_request',
        `Send {"current_password": "...", "new_password": "..."}; a new password has at least ${MIN_PASSWORD_LENGTH} characters.`,
      );
    }
    const { current_password: current, new_password: chosen } = parsed.data;
    const sessionUser = req.session.user;
    const record = sessionUser === undefined ? undefined : await users.get(sessionUser.username).catch(() => Promise.reject(unavailable()));
    if (sessionUser === undefined || record?.passwordHash === undefined) {
      throw new HttpError(403, 'unauthorized', 'Only an account with a password can change it.');
    }
    const throttleKey = `${record.username}|${req.ip ?? 'unknown'}`;
    await throttled(loginThrottle.consume(throttleKey), 'Too many attempts; wait before trying again.');
    if (!(await passwords.verify(current, record.passwordHash))) {
      options.onFailedLogin?.();
      throw new HttpError(401, 'invalid_credentials', 'The current password is wrong.');
    }
    if (chosen === current)
      throw new HttpError(400, 'invalid_request', 'Choose a password other than the current one.', undefined, 'new_password');
    await withDeadline(loginThrottle.delete(throttleKey), 'sign-in throttle').catch(() => undefined);
    await options.accounts.setPassword(record.username, chosen).catch(() => Promise.reject(unavailable()));
    const user = { ...sessionUser };
    delete user.mustChangePassword;
    await startSession(req, user, { index: options.sessionIndex, settings: options.session, now: options.now });
    res.status(200).json({ user: { username: user.username } });
  });

  return router;
}

const passwordChange = z.strictObject({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(MIN_PASSWORD_LENGTH).max(1024),
});
