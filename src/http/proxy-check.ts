import type { RequestHandler } from 'express';
import type { Logger } from '../infra/logger';

/**
 * TRUST_PROXY must count the proxies really in front of the app: one more than there are, and a
 * client can name its own address in X-Forwarded-For, walking past the per-address sign-in
 * throttles and guest limits. A request that arrives with no X-Forwarded-For at all while proxies
 * are trusted says that the app is reachable without them: said once, loudly, in the log.
 */
export function proxyCheck(options: { trustProxy: number; logger: Logger }): RequestHandler {
  let warned = false;
  return function proxyCheck(req, _res, next) {
    if (!warned && options.trustProxy > 0 && req.headers['x-forwarded-for'] === undefined) {
      warned = true;
      options.logger.warn(
        { trust_proxy: options.trustProxy },
        'TRUST_PROXY is set but a request came without X-Forwarded-For: the app is reachable directly, and a client could claim any address. Set TRUST_PROXY to the number of proxies really in front (0 if none).',
      );
    }
    next();
  };
}
