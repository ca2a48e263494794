import { randomBytes } from 'node:crypto';
import type { PasswordHasher } from '../auth/passwords';
import type { Logger } from '../infra/logger';
import type { UserRecord, UserStore } from '../stores/user-store';
import { PerfStandIn } from './perf-stand-in';

export const DEMO_USER = { username: 'demo', password: 'demo' } as const;

/** Starts the stand-in on loopback with a throwaway test key that exists only in this process. */
export async function startStandIn(): Promise<{ standIn: PerfStandIn; baseUrl: string; apiKey: string }> {
  const apiKey = `pk_test_standin_${randomBytes(12).toString('base64url')}`;
  const standIn = new PerfStandIn({ apiKeys: [apiKey], defaults: { chunkDelayMs: 40 } });
  const baseUrl = await standIn.listen(0, '127.0.0.1');
  return { standIn, baseUrl, apiKey };
}

/**
 * Adds the demo user in front of the real store, in this process only: it is never written to
 * Redis, so a development run against a shared Redis cannot leave a demo/demo account behind
 * for production instances to accept.
 */
export async function withDemoUser(users: UserStore, passwords: PasswordHasher, logger: Logger): Promise<UserStore> {
  const demo: UserRecord = {
    username: DEMO_USER.username,
    passwordHash: await passwords.hash(DEMO_USER.password),
    createdAt: new Date().toISOString(),
  };
  logger.warn(
    `DEMO MODE: sign in as "${DEMO_USER.username}" with password "${DEMO_USER.password}" (exists only in this process, because no PERF_API_KEY is set)`,
  );
  return {
    get: (username: string) => (username === demo.username ? Promise.resolve(demo) : users.get(username)),
    put: (user: UserRecord) => users.put(user),
    remove: (username: string) => users.remove(username),
    list: async () => [...new Set([demo.username, ...(await users.list())])].sort(),
  };
}
