import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';

export interface ProxyCheckOptions {
  trustProxy: number;
  /** In production the session cookie is Secure: a plain-http request can never keep a session. */
  production: boolean;
  logger: Logger;
}

/**
 * What the first requests say about the proxies in front, checked against the settings and said
 * once each, loudly, in the log:
 *
 * - TRUST_PROXY must count the proxies really in front of the app: one more than there are, and a
 *   client can name its own address in X-Forwarded-For, walking past the per-address sign-in
 *   throttles and guest limits. A request with no X-Forwarded-For at all while proxies are trusted
 *   says that the app is reachable without them.
 * - In production the cookie is `__Host-` and Secure: over plain http (no TLS here, and no trusted
 *   proxy saying X-Forwarded-Proto: https) browsers drop it, and sign-in "succeeds" in a loop.
 */
export function proxyCheck(options: ProxyCheckOptions): RequestHandler {
  let warnedDirect = false;
  let warnedPlainHttp = false;
  return function proxyCheck(req, _res, next) {
    if (!warnedDirect && options.trustProxy > 0 && req.headers['x-forwarded-for'] === undefined) {
      warnedDirect = true;
      options.logger.warn(
        { trust_proxy: options.trustProxy },
        'TRUST_PROXY is set but a request came without X-Forwarded-For: the app is reachable directly, and a client could claim any address. Set TRUST_PROXY to the number of proxies really in front (0 if none).',
      );
    }
    if (!warnedPlainHttp && options.production && !req.secure) {
      warnedPlainHttp = true;
      options.logger.warn(
        { trust_proxy: options.trustProxy, forwarded_proto: req.headers['x-forwarded-proto'] ?? null },
        'A request came over plain http while NODE_ENV=production: the session cookie is Secure, so browsers will never keep it and nobody can stay signed in. Serve the app over https; behind a proxy that ends TLS, set TRUST_PROXY to the number of proxies so that X-Forwarded-Proto is believed.',
      );
    }
    next();
  };
}
