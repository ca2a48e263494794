import cors from 'cors';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors';

/*
 * The defence against other sites, in one place.
 *
 * A browser attaches our session cookie to requests that other pages make, so every
 * state-changing request must prove that our own page (or an origin the operator allowed) sent it:
 *
 * 1. The guard (`crossSiteGuard`): a POST is refused with 403 when the browser marks it
 *    `Sec-Fetch-Site: cross-site` or `same-site`, or when its `Origin` is neither ours nor listed
 *    in ALLOWED_ORIGINS. A request with neither header is not from a browser that could carry
 *    another site's ambient cookies (curl, a server), so it passes.
 * 2. The body rule (`bodyTypeGuard`): bodies are JSON. `application/json` cannot be sent across
 *    origins without a CORS preflight, which only allowed origins pass. `text/plain` is what a
 *    plain `fetch(url, {method: 'POST', body: JSON.stringify(…)})` sends, and what a cross-site
 *    form can send too, so it is accepted only when the browser proves the request same-origin
 *    (`Sec-Fetch-Site: same-origin`, or, from a browser too old to send that header, an `Origin`
 *    that is ours or allowed). Forms and multipart bodies are always 415.
 * 3. CORS (`corsForAllowedOrigins`): only origins in ALLOWED_ORIGINS get CORS headers, from the
 *    `cors` package: the exact origin echoed (never `*`), credentials allowed, `Vary: Origin`.
 *    Every other origin gets nothing, so its pages cannot read our answers, nor send JSON.
 *
 * Header values are compared case-insensitively; our own origin comes from PUBLIC_URL when it is
 * set, else from the request's Host (development).
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CrossSiteOptions {
  /** Other origins (scheme://host[:port]) that may call the API with the user's cookie. */
  allowedOrigins: readonly string[];
  /** Our public origin; undefined means "the request's own Host" (development). */
  publicOrigin?: string | undefined;
}

interface Provenance {
  /** Sec-Fetch-Site, lowercased; undefined when the browser did not send it. */
  site: string | undefined;
  /** Origin, lowercased; undefined when absent. */
  origin: string | undefined;
  originIsOurs: boolean;
  originIsAllowed: boolean;
}

function validated(options: CrossSiteOptions): { allowed: Set<string>; publicOrigin: string | undefined } {
  const allowed = new Set<string>();
  for (const origin of options.allowedOrigins) {
    if (!/^https?:\/\/[^/\s]+$/i.test(origin))
      throw new TypeError(`allowedOrigins: "${origin}" is not an origin such as https://app.example.com`);
    allowed.add(origin.toLowerCase());
  }
  const publicOrigin = options.publicOrigin === undefined ? undefined : new URL(options.publicOrigin).origin.toLowerCase();
  return { allowed, publicOrigin };
}

function provenanceOf(req: Request, allowed: Set<string>, publicOrigin: string | undefined): Provenance {
  const site = req.get('sec-fetch-site')?.trim().toLowerCase();
  const origin = req.get('origin')?.trim().toLowerCase();
  const ours = publicOrigin ?? `${req.protocol}://${req.get('host') ?? ''}`.toLowerCase();
  return { site, origin, originIsOurs: origin === ours, originIsAllowed: origin !== undefined && allowed.has(origin) };
}

/** 403 for a state-changing request another site sent (see the note at the top of this file). */
export function crossSiteGuard(options: CrossSiteOptions): RequestHandler {
  const { allowed, publicOrigin } = validated(options);
  return function crossSiteGuard(req, _res, next) {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const p = provenanceOf(req, allowed, publicOrigin);
    const markedOtherSite = (p.site === 'cross-site' || p.site === 'same-site') && !p.originIsAllowed;
    const foreignOrigin = p.origin !== undefined && !p.originIsOurs && !p.originIsAllowed;
    if (markedOtherSite || foreignOrigin) {
      next(new HttpError(403, 'csrf_rejected', 'Cross-site request refused.'));
      return;
    }
    next();
  };
}

/** The media types a JSON body may arrive as (text/plain only when proven same-origin). */
export const JSON_BODY_TYPES = ['application/json', 'text/plain'];

/** 415 for a body that is not JSON, or JSON sent as text/plain without proof of same origin. */
export function bodyTypeGuard(options: CrossSiteOptions): RequestHandler {
  const { allowed, publicOrigin } = validated(options);
  return function bodyTypeGuard(req, _res, next) {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const hasBody = (req.get('content-length') ?? '0') !== '0' || req.get('transfer-encoding') !== undefined;
    const type = req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (!hasBody && type === undefined) {
      next();
      return;
    }
    if (type === 'application/json') {
      next();
      return;
    }
    if (type === 'text/plain') {
      const p = provenanceOf(req, allowed, publicOrigin);
      const provenSameOrigin = p.site === undefined ? p.originIsOurs || p.originIsAllowed : p.site === 'same-origin';
      if (provenSameOrigin) {
        next();
        return;
      }
      next(
        new HttpError(415, 'unsupported_media_type', 'Send the body as application/json (text/plain is accepted only from our own page).'),
      );
      return;
    }
    next(new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.'));
  };
}

/** Readable by an allowed origin's script: our rate-limit headers, Retry-After and the request id. */
const EXPOSED_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Request-Id'];
/** How long a browser may cache a preflight's answer (Chromium caps it at 2 h). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the origins in ALLOWED_ORIGINS only; any other origin's preflight ends here with 204
 * and no CORS header, so no request of its own follows. Requested headers are echoed for allowed
 * origins: SDKs send their own (X-Stainless-*, Authorization), and only trusted origins get this far.
 */
export function corsForAllowedOrigins(options: CrossSiteOptions): RequestHandler {
  const { allowed } = validated(options);
  const forAllowed = (origin: string): cors.CorsOptions => ({
    origin,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
  const withCors = cors((req, callback) => {
    const origin = req.headers.origin;
    callback(null, origin !== undefined && allowed.has(origin.toLowerCase()) ? forAllowed(origin) : { origin: false });
  });
  return function corsForAllowedOrigins(req, res, next) {
    withCors(req, res, (err?: unknown) => {
      if (err !== undefined) {
        next(err);
        return;
      }
      // A preflight cors did not answer (a disallowed origin): answered here, without CORS headers.
      if (req.method === 'OPTIONS') {
        res.status(204).setHeader('Content-Length', '0');
        res.end();
        return;
      }
      next();
    });
  };
}
