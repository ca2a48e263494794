import { Router } from 'express';
import type { Response } from 'express';
import * as client from 'openid-client';
import type { Logger } from '../../infra/logger';
import type { PlanStore } from '../../limits/plans';
import type { SessionIndex } from '../../stores/session-index';
import type { UserStore } from '../../stores/user-store';
import { startSession } from '../session-lifecycle';
import type { SessionSettings } from '../sessions';
import { emailAllowed, oidcUserId } from './identity';
import { SignInError } from './provider';
import type { OidcProvider, SignInFailure } from './provider';
import type { TransactionCookie } from './transaction';

export interface OidcRoutesOptions {
  provider: OidcProvider;
  transactions: TransactionCookie;
  allowedEmailDomains: readonly string[];
  /** The app's external origin: the callback URL is rebuilt from it, never from the Host header. */
  publicUrl: string;
  session: SessionSettings;
  sessionIndex: SessionIndex;
  users: UserStore;
  planStore: PlanStore;
  /** With OIDC_PLAN_CLAIM: the plans a claim may name (anything else means the default plan). */
  planFromClaim?: { plans: ReadonlySet<string> } | undefined;
  now: () => number;
  logger: Logger;
}

/** Every way a sign-in can end other than signed in; the page says each in plain words. */
export type SignInErrorCode = SignInFailure | 'expired' | 'email_domain' | 'unavailable';

/**
 * With a plan claim, the provider decides the plan at every sign-in (a value that names no plan
 * means the default plan); without one, the plan is what the operator set, if anything.
 */
async function planOf(options: OidcRoutesOptions, username: string, claimed: string | undefined): Promise<string | undefined> {
  if (options.planFromClaim === undefined) return options.planStore.get(username);
  const plan = claimed !== undefined && options.planFromClaim.plans.has(claimed) ? claimed : undefined;
  await options.planStore.set(username, plan);
  return plan;
}

/** The page, with the reason the sign-in did not happen (and its buttons to try again). */
function backToPage(res: Response, code: SignInErrorCode): void {
  res.redirect(303, `/?sign_in_error=${code}`);
}

/**
 * GET /auth/oidc/login and /auth/oidc/callback: the code flow with PKCE, the server as the client
 * (the BFF pattern): tokens stay in the server-side session, the browser gets only our cookie.
 * Whatever fails ends on the page with a reason, never on an error page or a 500.
 */
export function oidcRoutes(options: OidcRoutesOptions): Router {
  const { provider, transactions, logger } = options;
  const router = Router();

  router.get('/oidc/login', async function oidcLogin(_req, res) {
    const transaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      startedAt: options.now(),
    };
    let url: URL;
    try {
      url = await provider.authorizationUrl(transaction);
    } catch (err) {
      backToPage(res, err instanceof SignInError ? err.failure : 'provider_unavailable');
      return;
    }
    transactions.write(res, transaction);
    res.redirect(303, url.href);
  });

  router.get('/oidc/callback', async function oidcCallback(req, res) {
    const transaction = transactions.read(req);
    // Used once: a replayed callback (or a second tab's) finds no transaction.
    transactions.clear(res);
    if (transaction === undefined) {
      backToPage(res, 'expired');
      return;
    }
    let result;
    try {
      result = await provider.complete(new URL(req.originalUrl, options.publicUrl), transaction);
    } catch (err) {
      const failure = err instanceof SignInError ? err.failure : 'invalid';
      logger.warn({ reason: failure, detail: (err as Error).message }, 'OIDC sign-in refused');
      backToPage(res, failure);
      return;
    }
    const { claims, issuer, idToken } = result;
    if (!emailAllowed(claims, options.allowedEmailDomains)) {
      logger.warn({ reason: 'email_domain' }, 'OIDC sign-in refused: email domain not allowed');
      backToPage(res, 'email_domain');
      return;
    }
    const username = oidcUserId(issuer, claims.sub);
    try {
      const known = await options.users.get(username);
      const now = new Date(options.now()).toISOString();
      await options.users.put({
        ...known,
        username,
        createdAt: known?.createdAt ?? now,
        lastSignInAt: now,
        ...(claims.email === undefined ? {} : { email: claims.email }),
        ...(claims.name === undefined ? {} : { name: claims.name }),
      });
      const plan = await planOf(options, username, claims.plan);
      const user = {
        username,
        provider: 'oidc' as const,
        ...(claims.name === undefined ? {} : { name: claims.name }),
        ...(claims.email === undefined ? {} : { email: claims.email }),
        ...(plan === undefined ? {} : { plan }),
      };
      await startSession(
        req,
        user,
        { index: options.sessionIndex, settings: options.session, now: options.now },
        idToken === undefined ? {} : { idToken },
      );
    } catch {
      backToPage(res, 'unavailable');
      return;
    }
    res.redirect(303, '/');
  });

  return router;
}
