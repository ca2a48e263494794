import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { parse } from 'cookie';

/** One sign-in in progress: what the callback must find again to accept the provider's answer. */
export interface Transaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Epoch ms. */
  startedAt: number;
}

export interface TransactionCookieOptions {
  /** SESSION_SECRET's list: the first seals, every one unseals (rotation). */
  secrets: readonly string[];
  /** Production: a Secure `__Host-` cookie. */
  secureCookie: boolean;
  ttlSeconds: number;
  now: () => number;
}

/**
 * The sign-in transaction travels in a cookie of its own, sealed (AES-256-GCM: nobody can read the
 * PKCE verifier or forge a state) and SameSite=Lax. The provider sends the browser back with a
 * cross-site top-level navigation, which carries a Lax cookie but not our Strict session cookie;
 * the session is made only once the callback has been checked. The cookie lives ten minutes and
 * is cleared by the callback that uses it, so a replayed callback finds nothing.
 */
export class TransactionCookie {
  readonly name: string;
  private readonly keys: Buffer[];

  constructor(private readonly options: TransactionCookieOptions) {
    if (options.secrets.length === 0) throw new TypeError('transaction cookie: at least one secret is needed');
    if (!(options.ttlSeconds > 0)) throw new TypeError('transaction cookie: ttlSeconds must be positive');
    this.name = options.secureCookie ? '__Host-perf-bff.oidc' : 'perf-bff.oidc';
    this.keys = options.secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, 'perf-bff', 'oidc sign-in transaction', 32)));
  }

  write(res: Response, transaction: Transaction): void {
    const [key] = this.keys;
    if (key === undefined) throw new Error('no key');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(transaction), 'utf8'), cipher.final()]);
    const value = Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    res.cookie(this.name, value, { ...this.attributes(), maxAge: this.options.ttlSeconds * 1000 });
  }

  /** The transaction this browser started, if it is there, intact and not expired. */
  read(req: Request): Transaction | undefined {
    const value = parse(req.get('cookie') ?? '')[this.name];
    if (value === undefined) return undefined;
    const raw = Buffer.from(value, 'base64url');
    for (const key of this.keys) {
      const transaction = open(raw, key);
      if (transaction !== undefined)
        return transaction.startedAt + this.options.ttlSeconds * 1000 > this.options.now() ? transaction : undefined;
    }
    return undefined;
  }

  clear(res: Response): void {
    res.clearCookie(this.name, this.attributes());
  }

  private attributes() {
    return { httpOnly: true, secure: this.options.secureCookie, sameSite: 'lax' as const, path: '/' };
  }
}

function open(raw: Buffer, key: Buffer): Transaction | undefined {
  if (raw.length < 29) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const json = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const t = JSON.parse(json) as Partial<Transaction>;
    const complete =
      typeof t.state === 'string' && typeof t.nonce === 'string' && typeof t.codeVerifier === 'string' && typeof t.startedAt === 'number';
    return complete ? (t as Transaction) : undefined;
  } catch {
    return undefined;
  }
}
