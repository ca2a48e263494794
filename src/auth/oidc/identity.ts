import { createHash } from 'node:crypto';

/** What the provider's ID token says about the person, as far as we use it. */
export interface ProviderClaims {
  sub: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  /** The value of OIDC_PLAN_CLAIM, when configured and a string. */
  plan?: string;
}

/** A `sub` as most providers write it; anything else is hashed (keys stay plain, no `{` or `}`). */
const PLAIN_SUB = /^[A-Za-z0-9._@|:+-]{1,128}$/;

/**
 * The user's id: namespaced by issuer and `sub`, never the email alone (an email can change hands,
 * and two providers can both vouch for one). `oidc:` cannot start a local username.
 */
export function oidcUserId(issuer: string, sub: string): string {
  const issuerTag = createHash('sha256').update(issuer).digest('hex').slice(0, 8);
  const subject = PLAIN_SUB.test(sub) ? sub : `h-${createHash('sha256').update(sub).digest('hex').slice(0, 32)}`;
  return `oidc:${issuerTag}:${subject}`;
}

/** With a list of domains, only verified emails in those domains may sign in. */
export function emailAllowed(claims: ProviderClaims, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  if (claims.email === undefined || claims.emailVerified === false) return false;
  const domain = claims.email.slice(claims.email.lastIndexOf('@') + 1).toLowerCase();
  return allowedDomains.includes(domain);
}
