import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { SessionIndex } from '../stores/session-index';
import { startSession } from './session-lifecycle';
import { throttled } from './throttled';
import type { SessionSettings } from './sessions';

export interface GuestSignInOptions {
  session: SessionSettings;
  sessionIndex: SessionIndex;
  /** The guests' plan (GUEST_PLAN). */
  plan: string;
  /** New guest sessions per client address are counted like failed sign-ins: each costs a store write. */
  ipThrottle: RateLimiterAbstract;
  now: () => number;
}

/**
 * POST /auth/guest: a session without an account, on the guest plan. What a guest may do is
 * counted per session and per client address, inside a budget all guests share: dropping the
 * cookie for a new one buys no new budget.
 */
export function guestSignIn(options: GuestSignInOptions): Router {
  const router = Router();
  router.post('/guest', async function guest(req, res) {
    const address = req.ip ?? 'unknown';
    await throttled(options.ipThrottle.consume(address), 'Too many new sessions from here; wait before trying again.');
    const username = `guest:${randomBytes(12).toString('hex')}`;
    await startSession(
      req,
      { username, plan: options.plan, guest: { address } },
      { index: options.sessionIndex, settings: options.session, now: options.now },
    );
    res.status(200).json({ user: { username, guest: true } });
  });
  return router;
}
