import type { RequestHandler } from 'express';
import { HttpError } from '../http/errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser marks as coming from another site.
 * Requests without Origin or Sec-Fetch-Site (curl, server-side callers) carry no ambient
 * browser credentials that another site could borrow, so they pass.
 */
export function sameOriginGuard(options: { allowedOrigins: readonly string[] }): RequestHandler {
  const allowed = new Set(options.allowedOrigins.map((o) => o.toLowerCase()));
  return function sameOriginGuard(req, _res, next) {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const ours = `${req.protocol}://${req.get('host') ?? ''}`.toLowerCase();
    const originAllowed = origin === undefined || origin.toLowerCase() === ours || allowed.has(origin.toLowerCase());
    const crossSite = (site === 'cross-site' || site === 'same-site') && !(origin !== undefined && allowed.has(origin.toLowerCase()));
    if (crossSite || !originAllowed) {
      next(new HttpError(403, 'csrf_rejected', 'Cross-site request refused.'));
      return;
    }
    next();
  };
}

/**
 * State-changing bodies must be JSON: a cross-site form cannot send application/json, and a
 * cross-site fetch that does must pass a CORS preflight first.
 */
export const requireJsonBody: RequestHandler = function requireJsonBody(req, _res, next) {
  if (SAFE_METHODS.has(req.method)) {
    next();
    return;
  }
  const hasBody = (req.get('content-length') ?? '0') !== '0' || req.get('transfer-encoding') !== undefined;
  const type = req.get('content-type');
  const isJson = type?.split(';')[0]?.trim().toLowerCase() === 'application/json';
  if ((hasBody || type !== undefined) && !isJson) {
    next(new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.'));
    return;
  }
  next();
};
