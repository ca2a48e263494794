import type { Request } from 'express';
import { HttpError } from '../http/errors';
import type { SessionIndex } from '../stores/session-index';
import type { SessionSettings, SessionUser } from './sessions';

/** express-session's callback methods as promises. */
function promised(call: (done: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    call((err) => {
      if (err === undefined || err === null) resolve();
      else reject(err instanceof Error ? err : new Error('session store error'));
    });
  });
}

export interface SessionStartOptions {
  index: SessionIndex;
  settings: SessionSettings;
  now: () => number;
  /**
   * Checked once the session is indexed: false ends it at once. A password changed (or a user
   * removed) while this sign-in was being checked is then never outlived by the new session.
   */
  stillValid?: () => Promise<boolean>;
}

/**
 * Opens a signed-in session: a new id (an id planted before sign-in is worth nothing after it),
 * saved, and indexed under its user so that revocation can find it. A session that cannot be
 * indexed could not be revoked: it is not kept.
 */
export async function startSession(
  req: Request,
  user: SessionUser,
  options: SessionStartOptions,
  extra: { idToken?: string } = {},
): Promise<void> {
  await promised((done) => req.session.regenerate(done));
  const t = options.now();
  req.session.user = user;
  req.session.createdAt = t;
  req.session.lastSeenAt = t;
  if (extra.idToken !== undefined) req.session.oidc = { idToken: extra.idToken };
  await promised((done) => req.session.save(done));
  try {
    await options.index.add(user.username, req.sessionID, t + options.settings.absoluteTimeoutSeconds * 1000);
  } catch {
    await promised((done) => req.session.destroy(done)).catch(() => undefined);
    throw new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
  }
  if (options.stillValid !== undefined && !(await options.stillValid())) {
    await endSession(req, options.index);
    throw new HttpError(401, 'invalid_credentials', 'Wrong username or password.');
  }
}

/** Ends the request's session in the store and in its user's index. */
export async function endSession(req: Request, index: SessionIndex): Promise<void> {
  const user = req.session.user?.username;
  const sid = req.sessionID;
  await promised((done) => req.session.destroy(done));
  if (user !== undefined) await index.remove(user, sid).catch(() => undefined);
}
