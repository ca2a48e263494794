import { randomBytes } from 'node:crypto';
import { hashPassword } from '../auth/passwords';
import type { UserStore } from '../auth/user-store';
import type { Logger } from '../infra/logger';
import { PerfStandIn } from './perf-stand-in';

export const DEMO_USER = { username: 'demo', password: 'demo' } as const;

/** Starts the stand-in on loopback with a throwaway test key that exists only in this process. */
export async function startStandIn(): Promise<{ standIn: PerfStandIn; baseUrl: string; apiKey: string }> {
  const apiKey = `pk_test_standin_${randomBytes(12).toString('base64url')}`;
  const standIn = new PerfStandIn({ apiKeys: [apiKey], defaults: { chunkDelayMs: 40 } });
  const baseUrl = await standIn.listen(0, '127.0.0.1');
  return { standIn, baseUrl, apiKey };
}

export async function ensureDemoUser(users: UserStore, logger: Logger): Promise<void> {
  if ((await users.get(DEMO_USER.username)) === undefined) {
    await users.put({ username: DEMO_USER.username, passwordHash: await hashPassword(DEMO_USER.password), createdAt: new Date().toISOString() });
  }
  logger.warn(`DEMO MODE: sign in as "${DEMO_USER.username}" with password "${DEMO_USER.password}" (exists only because no PERF_API_KEY is set)`);
}
