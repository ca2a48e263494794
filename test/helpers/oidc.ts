import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import { request } from 'undici';
import { freePort } from './net';

/*
 * A real OpenID Provider for the tests: oidc-provider (panva's certified implementation) on
 * loopback, with one registered client and its development login and consent pages. Any login
 * name signs in; its email is <login>@<emailDomain>.
 */

export const OIDC_CLIENT = { id: 'perf-bff-test', secret: 'perf-bff-test-client-secret-0123456789' };

export interface TestProvider {
  issuer: string;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  /** Where the app listens, as the browser sees it (the registered redirect URI is derived from it). */
  appUrl: string;
  /** The provider is another site than an app at http://localhost:… */
  host?: string;
  emailDomain?: string;
}

export async function startTestProvider(options: TestProviderOptions): Promise<TestProvider> {
  const host = options.host ?? '127.0.0.1';
  const emailDomain = options.emailDomain ?? 'example.com';
  const port = await freePort();
  const issuer = `http://${host}:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT.id,
        client_secret: OIDC_CLIENT.secret,
        redirect_uris: [`${options.appUrl}/auth/oidc/callback`],
        post_logout_redirect_uris: [`${options.appUrl}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: ['perf-bff-test-provider-cookie-key'] },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' }] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@${emailDomain}`, email_verified: true, name: `User ${id}` }),
    }),
  });
  const server = provider.listen(port, host);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A browser reduced to what the code flow needs: cookies per host, redirects followed by hand (so
 * that a test can stop at, read or tamper with any step), and the provider's forms submitted.
 */
export class FlowBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  /** One GET, no redirect followed: the status, where it points, and the body. */
  async get(url: string): Promise<{ status: number; location: string | undefined; body: string }> {
    return this.send('GET', url);
  }

  async post(url: string, form: Record<string, string>): Promise<{ status: number; location: string | undefined; body: string }> {
    return this.send('POST', url, new URLSearchParams(form).toString());
  }

  /** Follows redirects from `url` until one points where `stop` says (that URL is returned, not fetched). */
  async follow(url: string, stop: (next: URL) => boolean): Promise<URL> {
    let current = new URL(url);
    for (let hops = 0; hops < 20; hops += 1) {
      if (stop(current)) return current;
      const res = await this.get(current.href);
      if (res.location === undefined) throw new Error(`${current.href} answered ${res.status} without a redirect`);
      current = new URL(res.location, current);
    }
    throw new Error('too many redirects');
  }

  /** The dev login page's form: any login signs in. Returns where the provider sends the browser next. */
  async signInAtProvider(interactionUrl: URL, login: string): Promise<URL> {
    const page = await this.get(interactionUrl.href);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
    if (action === undefined) throw new Error('no login form');
    const res = await this.post(new URL(action.replace(/&amp;/g, '&'), interactionUrl).href, { prompt: 'login', login, password: 'any' });
    return new URL(res.location ?? '', interactionUrl);
  }

  /** The dev consent page's form. */
  async consentAtProvider(interactionUrl: URL): Promise<URL> {
    const page = await this.get(interactionUrl.href);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
    if (action === undefined) throw new Error('no consent form');
    const res = await this.post(new URL(action.replace(/&amp;/g, '&'), interactionUrl).href, { prompt: 'consent' });
    return new URL(res.location ?? '', interactionUrl);
  }

  cookie(host: string, name: string): string | undefined {
    return this.jars.get(host)?.get(name);
  }

  dropCookie(host: string, name: string): void {
    this.jars.get(host)?.delete(name);
  }

  private async send(
    method: 'GET' | 'POST',
    url: string,
    body?: string,
  ): Promise<{ status: number; location: string | undefined; body: string }> {
    const { host } = new URL(url);
    const jar = this.jars.get(host) ?? new Map<string, string>();
    this.jars.set(host, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await request(url, {
      method,
      headers: {
        ...(cookie === '' ? {} : { cookie }),
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        // The app's own guard sees what a browser's top-level navigation sends.
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
      },
      body,
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.location;
    return { status: res.statusCode, location: Array.isArray(location) ? location[0] : location, body: await res.body.text() };
  }
}
