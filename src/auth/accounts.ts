import type { SessionIndex } from '../stores/session-index';
import type { UserStore } from '../stores/user-store';
import type { PasswordHasher } from './passwords';

export interface AccountSummary {
  username: string;
  kind: 'password' | 'oidc';
  email?: string;
  openSessions: number;
}

/**
 * What the operator does to accounts (`npm run users`), with revocation built in: a removed user,
 * a changed password or a sign-out ends every session of that user before the call returns.
 */
export class Accounts {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionIndex,
    private readonly passwords: PasswordHasher,
  ) {}

  /** Adds a local user, or changes an existing one's password (ending their sessions). */
  async setPassword(username: string, password: string): Promise<{ created: boolean; endedSessions: number }> {
    const existing = await this.users.get(username);
    await this.users.put({
      ...existing,
      username,
      passwordHash: await this.passwords.hash(password),
      createdAt: existing?.createdAt ?? new Date().toISOString(),
    });
    return { created: existing === undefined, endedSessions: existing === undefined ? 0 : await this.sessions.revokeAll(username) };
  }

  /** Removes a user and ends their sessions. */
  async remove(username: string): Promise<{ removed: boolean; endedSessions: number }> {
    const removed = await this.users.remove(username);
    return { removed, endedSessions: await this.sessions.revokeAll(username) };
  }

  /** Ends every session of a user, who may sign in again. */
  signOut(username: string): Promise<number> {
    return this.sessions.revokeAll(username);
  }

  async list(): Promise<AccountSummary[]> {
    const names = await this.users.list();
    return Promise.all(
      names.map(async (username) => {
        const record = await this.users.get(username);
        const summary: AccountSummary = {
          username,
          kind: record?.passwordHash === undefined ? 'oidc' : 'password',
          openSessions: await this.sessions.count(username),
        };
        if (record?.email !== undefined) summary.email = record.email;
        return summary;
      }),
    );
  }
}
