import type { Request, RequestHandler } from 'express';
import { HttpError } from '../http/errors';

/**
 * Lets signed-in requests through. express-session calls next() without req.session when its
 * store is down; that fails closed with 503, never as an anonymous pass.
 */
export const requireUser: RequestHandler = function requireUser(req, res, next) {
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
  next();
};

export function currentUser(req: Request): string {
  const user = req.session.user;
  if (user === undefined) throw new HttpError(401, 'unauthorized', 'Sign in first.');
  return user.username;
}
