import type { Request, Response } from 'express';
import { TransactionCookie } from '../src/auth/oidc/transaction';
import type { Transaction } from '../src/auth/oidc/transaction';

const SECRET = 'a'.repeat(32);
const tx: Transaction = { state: 'state-1', nonce: 'nonce-1', codeVerifier: 'verifier-1', startedAt: 1_000_000 };

/** Writes through a stand-in response and returns the Set-Cookie value the browser would keep. */
function written(cookies: TransactionCookie, transaction: Transaction): { value: string; options: Record<string, unknown> } {
  let seen: { value: string; options: Record<string, unknown> } | undefined;
  cookies.write(
    { cookie: (_n: string, value: string, options: Record<string, unknown>) => (seen = { value, options }) } as unknown as Response,
    transaction,
  );
  if (seen === undefined) throw new Error('no cookie written');
  return seen;
}

const requestWith = (name: string, value: string) => ({ get: () => `other=1; ${name}=${value}` }) as unknown as Request;

describe('the sign-in transaction cookie', () => {
  let clock = 1_000_000;
  const make = (secrets = [SECRET]) => new TransactionCookie({ secrets, secureCookie: true, ttlSeconds: 600, now: () => clock });

  test('is sealed: what the browser holds names neither the state nor the PKCE verifier', () => {
    const { value, options } = written(make(), tx);
    expect(value).not.toMatch(/state-1|verifier-1|nonce-1/);
    expect(Buffer.from(value, 'base64url').toString('latin1')).not.toMatch(/state|verifier|nonce/);
    expect(options).toEqual({ httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 600_000 });
    expect(make().name).toBe('__Host-perf-bff.oidc');
  });

  test('reads back what it wrote, within its lifetime only', () => {
    const cookies = make();
    const { value } = written(cookies, tx);
    clock = tx.startedAt + 599_999;
    expect(cookies.read(requestWith(cookies.name, value))).toEqual(tx);
    clock = tx.startedAt + 600_000;
    expect(cookies.read(requestWith(cookies.name, value))).toBeUndefined();
  });

  test('a changed byte, another secret, or no cookie at all reads as nothing', () => {
    clock = tx.startedAt;
    const cookies = make();
    const { value } = written(cookies, tx);
    const tampered = Buffer.from(value, 'base64url');
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(cookies.read(requestWith(cookies.name, tampered.toString('base64url')))).toBeUndefined();
    expect(make(['b'.repeat(32)]).read(requestWith(cookies.name, value))).toBeUndefined();
    expect(cookies.read({ get: () => undefined } as unknown as Request)).toBeUndefined();
  });

  test('a rotated secret still opens a transaction sealed before the rotation', () => {
    clock = tx.startedAt;
    const { value } = written(make([SECRET]), tx);
    const rotated = make(['n'.repeat(32), SECRET]);
    expect(rotated.read(requestWith(rotated.name, value))).toEqual(tx);
  });
});
