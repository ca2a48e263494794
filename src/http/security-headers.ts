import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * Strict CSP: the page loads only its own script and style files, and nothing else. In
 * production (HTTPS) also HSTS and upgrade-insecure-requests.
 */
export function securityHeaders(options: { production: boolean }): RequestHandler {
  const headers = [...headersSetBy(helmetFor(options.production))];
  // helmet's thirteen middlewares, replayed: the same headers, without a middleware (and its checks) per header.
  return function securityHeaders(_req, res, next) {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** The helmet configuration; every header it sets is the same for every request (no nonces). */
export function helmetFor(production: boolean): ReturnType<typeof helmet> {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The headers a middleware sets, recorded once. Only for a middleware whose headers do not depend on
 * the request: helmet's, as configured above (it removes X-Powered-By, which Express is told not to send).
 */
function headersSetBy(middleware: ReturnType<typeof helmet>): Map<string, string> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name, String(value));
      return recorder;
    },
    removeHeader: () => undefined,
  };
  const done = { called: false };
  middleware(Object.create(null) as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err !== undefined) throw err instanceof Error ? err : new Error('helmet failed');
    done.called = true;
  });
  if (!done.called || headers.size === 0) throw new Error('security headers: helmet did not set its headers synchronously');
  return headers;
}
