import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../http/errors';

/**
 * Lets signed-in requests through. express-session calls next() without req.session when its
 * store is down; that fails closed with 503, never as an anonymous pass. Someone signed in with a
 * one-time password gets 403 password_change_required until they have chosen their own.
 */
export const requireUser: RequestHandler = function requireUser(req, res, next) {
  signedIn(req, res, next, false);
};

/** The same, for the routes that someone who must still choose a password may use (/auth/me, /auth/password). */
export const requireUserMayChangePassword: RequestHandler = function requireUserMayChangePassword(req, res, next) {
  signedIn(req, res, next, true);
};

function signedIn(req: Request, res: Response, next: NextFunction, passwordChangeAllowed: boolean): void {
  if ((req as { session?: unknown }).session === undefined) {
    next(new HttpError(503, 'service_unavailable', 'Sessions are temporarily unavailable.'));
    return;
  }
  const user = req.session.user;
  if (user === undefined) {
    next(new HttpError(401, 'unauthorized', 'Sign in first.'));
    return;
  }
  res.locals.username = user.username;
  if (user.mustChangePassword === true && !passwordChangeAllowed) {
    next(new HttpError(403, 'password_change_required', 'Choose your own password first (POST /auth/password).'));
    return;
  }
  next();
}

export function currentUser(req: Request): string {
  const user = req.session.user;
  if (user === undefined) throw new HttpError(401, 'unauthorized', 'Sign in first.');
  return user.username;
}
