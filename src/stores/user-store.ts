import { withDeadline } from '../infra/deadline';
import type { KeySchema } from './keys';
import { keysFor } from './store-redis';
import type { StoreRedis } from './store-redis';

export interface UserRecord {
  /** The user's id: a local username, or `oidc:…` for someone from the identity provider. */
  username: string;
  /** Local users only: `scrypt$…` (see auth/passwords.ts). */
  passwordHash?: string;
  /** A password nobody chose (the first user's, printed once): good for signing in to choose one, until it expires. */
  oneTimePassword?: { expiresAt: string };
  createdAt: string;
  /** From the identity provider's claims, for `npm run users -- list`. */
  email?: string;
  name?: string;
  lastSignInAt?: string;
}

/** Where accounts live: Redis in production, a Map in the embedded default. */
export interface UserStore {
  get(username: string): Promise<UserRecord | undefined>;
  put(user: UserRecord): Promise<void>;
  remove(username: string): Promise<boolean>;
  list(): Promise<string[]>;
}

/** An account per key, and the set of names (keys.ts: one slot on a cluster, so both are written at once). */
export class RedisUserStore implements UserStore {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: StoreRedis,
    prefix: string,
  ) {
    this.keys = keysFor(redis, prefix);
  }

  private key(username: string): string {
    return this.keys.user(username);
  }

  async get(username: string): Promise<UserRecord | undefined> {
    const raw = await withDeadline(this.redis.get(this.key(username)), 'user lookup');
    return raw === null ? undefined : (JSON.parse(raw) as UserRecord);
  }

  async put(user: UserRecord): Promise<void> {
    await withDeadline(
      this.redis.multi().set(this.key(user.username), JSON.stringify(user)).sAdd(this.keys.userNames(), user.username).exec(),
      'user write',
    );
  }

  async remove(username: string): Promise<boolean> {
    const [deleted] = await withDeadline(
      this.redis.multi().del(this.key(username)).sRem(this.keys.userNames(), username).exec(),
      'user write',
    );
    return Number(deleted) > 0;
  }

  async list(): Promise<string[]> {
    return (await withDeadline(this.redis.sMembers(this.keys.userNames()), 'user list')).sort();
  }
}

export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, UserRecord>();

  get(username: string): Promise<UserRecord | undefined> {
    return Promise.resolve(this.users.get(username));
  }

  put(user: UserRecord): Promise<void> {
    this.users.set(user.username, { ...user });
    return Promise.resolve();
  }

  remove(username: string): Promise<boolean> {
    return Promise.resolve(this.users.delete(username));
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.users.keys()].sort());
  }
}
