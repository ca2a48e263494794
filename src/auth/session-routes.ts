import { Router } from 'express';
import type { SessionIndex } from '../stores/session-index';
import { requireUserMayChangePassword } from './require-user';
import { endSession } from './session-lifecycle';
import { sessionCookieName } from './sessions';
import type { SessionSettings } from './sessions';

export interface SignInMethods {
  /** Local users with a password (POST /auth/login). */
  password: boolean;
  /** Visitors may chat without an account (GUEST_PLAN). */
  guest: boolean;
  /** The identity provider's sign-in, when configured. */
  oidc?: { name: string; loginUrl: string; endSessionUrl: (idToken: string | undefined) => Promise<string | undefined> };
}

export interface SessionRoutesOptions {
  session: SessionSettings;
  sessionIndex: SessionIndex;
  methods: SignInMethods;
  now: () => number;
}

/** GET /auth/me, POST /auth/logout, GET /auth/methods. */
export function sessionRoutes(options: SessionRoutesOptions): Router {
  const { session, methods, now } = options;
  const router = Router();
  const methodsBody = JSON.stringify({
    password: methods.password,
    guest: methods.guest,
    oidc: methods.oidc === undefined ? null : { name: methods.oidc.name, login_url: methods.oidc.loginUrl },
  });

  router.get('/methods', function signInMethods(_req, res) {
    res.type('application/json').send(methodsBody);
  });

  router.post('/logout', async function logout(req, res) {
    const signedIn = (req as { session?: unknown }).session !== undefined && req.session.user !== undefined;
    const idToken = signedIn ? req.session.oidc?.idToken : undefined;
    const provider = signedIn && req.session.user?.provider === 'oidc' ? methods.oidc : undefined;
    if (signedIn) await endSession(req, options.sessionIndex);
    res.clearCookie(sessionCookieName(session.secureCookie), {
      path: '/',
      httpOnly: true,
      secure: session.secureCookie,
      sameSite: session.sameSite,
    });
    // Someone who came from the identity provider is sent there to end that session too.
    const endSessionUrl = await provider?.endSessionUrl(idToken).catch(() => undefined);
    if (endSessionUrl === undefined) res.status(204).end();
    else res.status(200).json({ end_session_url: endSessionUrl });
  });

  router.get('/me', requireUserMayChangePassword, function me(req, res) {
    const createdAt = req.session.createdAt ?? now();
    const lastSeenAt = req.session.lastSeenAt ?? now();
    const expiresAt = Math.min(lastSeenAt + session.idleTimeoutSeconds * 1000, createdAt + session.absoluteTimeoutSeconds * 1000);
    const { username, name, email, mustChangePassword } = req.session.user ?? { username: '' };
    res.json({
      user: {
        username,
        ...(name === undefined ? {} : { name }),
        ...(email === undefined ? {} : { email }),
        ...(mustChangePassword === true ? { must_change_password: true } : {}),
      },
      session: { expires_at: new Date(expiresAt).toISOString() },
    });
  });

  return router;
}
