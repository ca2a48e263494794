import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * Production's cost: N=2^15, r=8, p=1 (32 MiB, about 50 ms per sign-in on a small dyno). OWASP's
 * Password Storage Cheat Sheet asks for at least N=2^17, r=8, p=1 (128 MiB), or an equal-strength
 * trade such as N=2^15, r=8, p=3; this is a third of that work. Stored hashes name their own cost,
 * so raising it later only affects new passwords, and old ones keep verifying.
 */
export const PRODUCTION_SCRYPT: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

/** The shortest password a person may choose (the CLI and the page's password change). */
export const MIN_PASSWORD_LENGTH = 8;

/** A password nobody chose: 144 random bits, in characters any keyboard has. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

const KEY_LENGTH = 32;
/** Above what any cost we would choose needs (128·N·r bytes); a stored hash asking for more is refused. */
const MAX_MEMORY = 256 * 1024 * 1024;

export interface PasswordHasher {
  /** `scrypt$N$r$p$salt$hash`, base64url: self-describing so that the cost can be raised later. */
  hash(password: string): Promise<string>;
  /**
   * Compares in constant time. With no stored hash (unknown user) it still spends one scrypt, so
   * that timing does not tell which usernames exist.
   */
  verify(password: string, stored: string | undefined): Promise<boolean>;
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...cost, maxmem: MAX_MEMORY }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Tests pass a low cost: a sign-in then takes a millisecond instead of a scrypt's worth. */
export function createPasswordHasher(cost: ScryptCost = PRODUCTION_SCRYPT): PasswordHasher {
  if (![cost.N, cost.r, cost.p].every((n) => Number.isInteger(n) && n > 0) || (cost.N & (cost.N - 1)) !== 0) {
    throw new TypeError('scrypt cost: N must be a power of two, r and p positive whole numbers');
  }
  const dummySalt = randomBytes(16);
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await derive(password, salt, cost);
      return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
    },
    async verify(password, stored) {
      const parts = stored?.split('$');
      if (parts?.length !== 6 || parts[0] !== 'scrypt') {
        await derive(password, dummySalt, cost);
        return false;
      }
      const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
      const expected = Buffer.from(hash, 'base64url');
      const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}
