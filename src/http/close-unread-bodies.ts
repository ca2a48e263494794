import type { RequestHandler } from 'express';
import onHeaders from 'on-headers';

/**
 * An answer given before its request's body has arrived (401 for an anonymous chat, 413, 415…)
 * closes the connection once it is sent: otherwise Node keeps the socket to read, and throw away,
 * the rest of a body nobody wants, for as long as a slow client cares to send it.
 */
export function closeUnreadBodies(): RequestHandler {
  return function closeUnreadBodies(req, res, next) {
    onHeaders(res, function closeWhenBodyUnread() {
      if (!req.complete) res.setHeader('Connection', 'close');
    });
    next();
  };
}
