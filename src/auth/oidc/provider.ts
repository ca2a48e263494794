import * as client from 'openid-client';
import type { Logger } from '../../infra/logger';
import type { ProviderClaims } from './identity';
import type { Transaction } from './transaction';

export interface OidcProviderOptions {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  scopes: string;
  /** PUBLIC_URL + /auth/oidc/callback. */
  redirectUri: string;
  /** Where the provider sends the browser after its logout: PUBLIC_URL + /. */
  postLogoutRedirectUri: string;
  /** A claim that names the user's plan (OIDC_PLAN_CLAIM). */
  planClaim?: string | undefined;
  logger: Logger;
}

/** Why a sign-in did not complete; the page explains each in plain words. */
export type SignInFailure = 'denied' | 'invalid' | 'provider_unavailable';

export class SignInError extends Error {
  constructor(
    readonly failure: SignInFailure,
    detail: string,
  ) {
    super(detail);
    this.name = 'SignInError';
  }
}

/**
 * The identity provider, through openid-client (panva's certified client): discovery, the
 * authorization URL with PKCE (S256), state and nonce, and the code exchange, which checks state,
 * issuer (also the callback's `iss`), audience, signature, expiry and nonce. Nothing of that is
 * done by hand here. Discovery happens at the first sign-in and is retried until it succeeds, so a
 * provider that is down when the app starts delays nothing but sign-ins.
 */
export class OidcProvider {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(private readonly options: OidcProviderOptions) {}

  async authorizationUrl(transaction: Transaction): Promise<URL> {
    const config = await this.discovered();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
    });
  }

  /**
   * Checks the provider's answer and exchanges its code. Back come the person's claims, the issuer
   * as the provider names itself (not as OIDC_ISSUER happens to be spelled), and the ID token.
   */
  async complete(
    callbackUrl: URL,
    transaction: Transaction,
  ): Promise<{ claims: ProviderClaims; issuer: string; idToken: string | undefined }> {
    const config = await this.discovered();
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw classify(err);
    }
    const idClaims = tokens.claims();
    if (idClaims === undefined) throw new SignInError('invalid', 'no ID token');
    let claims: Record<string, unknown> = idClaims;
    // Some providers keep email and name out of the ID token: the userinfo endpoint has them.
    if (idClaims.email === undefined && config.serverMetadata().userinfo_endpoint !== undefined) {
      try {
        claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...idClaims };
      } catch (err) {
        throw classify(err);
      }
    }
    const result: ProviderClaims = { sub: idClaims.sub };
    if (typeof claims.email === 'string') result.email = claims.email;
    if (typeof claims.email_verified === 'boolean') result.emailVerified = claims.email_verified;
    if (typeof claims.name === 'string') result.name = claims.name;
    const plan = this.options.planClaim === undefined ? undefined : claims[this.options.planClaim];
    if (typeof plan === 'string') result.plan = plan;
    return { claims: result, issuer: config.serverMetadata().issuer, idToken: tokens.id_token };
  }

  /** The provider's logout URL, when it has one (end_session_endpoint). */
  async endSessionUrl(idToken: string | undefined): Promise<string | undefined> {
    const config = await this.discovered();
    if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
    const params: Record<string, string> = {
      post_logout_redirect_uri: this.options.postLogoutRedirectUri,
      client_id: this.options.clientId,
    };
    if (idToken !== undefined) params.id_token_hint = idToken;
    return client.buildEndSessionUrl(config, params).href;
  }

  private discovered(): Promise<client.Configuration> {
    this.configuration ??= this.discover().catch((err: unknown) => {
      // Forgotten, so that the next sign-in tries again.
      this.configuration = undefined;
      this.options.logger.error(
        { err: { message: (err as Error).message } },
        'OIDC discovery failed: check OIDC_ISSUER and that the provider is reachable',
      );
      throw new SignInError('provider_unavailable', 'discovery failed');
    });
    return this.configuration;
  }

  private discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.options;
    const url = new URL(issuer);
    // Plain http only for a provider on this machine (tests, a local Keycloak); config.ts refuses it in production otherwise.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- openid-client marks it so only to make it stand out
    const execute = url.protocol === 'http:' ? [client.allowInsecureRequests] : [];
    const auth = clientSecret === undefined ? client.None() : client.ClientSecretPost(clientSecret);
    return client.discovery(url, clientId, undefined, auth, { execute, timeout: 10 });
  }
}

function classify(err: unknown): SignInError {
  if (err instanceof client.AuthorizationResponseError) {
    return new SignInError(err.error === 'access_denied' ? 'denied' : 'invalid', `the provider answered ${err.error}`);
  }
  if (err instanceof client.ResponseBodyError) return new SignInError('invalid', `the token endpoint answered ${err.error}`);
  const code = (err as { code?: unknown }).code;
  if (err instanceof TypeError || code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || (err as Error).name === 'TimeoutError') {
    return new SignInError('provider_unavailable', (err as Error).message);
  }
  return new SignInError('invalid', typeof code === 'string' ? code : (err as Error).message);
}
