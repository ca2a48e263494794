import type { PlanStore } from '../limits/plans';
import type { SessionIndex } from '../stores/session-index';
import type { UserRecord, UserStore } from '../stores/user-store';
import { generatePassword } from './passwords';
import type { PasswordHasher } from './passwords';

export interface AccountSummary {
  username: string;
  kind: 'password' | 'oidc';
  email?: string;
  /** undefined: the default plan. */
  plan?: string;
  openSessions: number;
}

export interface AccountStores {
  users: UserStore;
  sessions: SessionIndex;
  plans: PlanStore;
}

/**
 * What the operator does to accounts (`npm run users`), with revocation built in: a removed user,
 * a changed password or a sign-out ends every session of that user before the call returns. A
 * plan change needs no sign-out: every instance applies it from the next request on.
 */
export class Accounts {
  constructor(
    private readonly stores: AccountStores,
    private readonly passwords: PasswordHasher,
    /** The plans that exist (PLANS_FILE). */
    private readonly planNames: ReadonlySet<string>,
  ) {}

  /** Adds a local user, or changes an existing one's password (ending their sessions); optionally sets their plan. */
  async setPassword(username: string, password: string, plan?: string): Promise<{ created: boolean; endedSessions: number }> {
    return this.writePassword(username, password, plan, undefined);
  }

  /**
   * The first user of a new deployment (the release phase, ADMIN_USERNAME): made only while there
   * is no user at all, with a generated password that is good for one thing, signing in to choose
   * a password, until `validForMs` has passed. Returns that password, or undefined when users
   * exist already (every later release).
   */
  async createFirstUser(username: string, validForMs: number, now: number): Promise<string | undefined> {
    if ((await this.stores.users.list()).length > 0) return undefined;
    const password = generatePassword();
    await this.writePassword(username, password, undefined, { expiresAt: new Date(now + validForMs).toISOString() });
    return password;
  }

  private async writePassword(
    username: string,
    password: string,
    plan: string | undefined,
    oneTimePassword: { expiresAt: string } | undefined,
  ): Promise<{ created: boolean; endedSessions: number }> {
    if (plan !== undefined) this.checkPlan(plan);
    const existing = await this.stores.users.get(username);
    const kept: UserRecord = { ...(existing ?? { username, createdAt: new Date().toISOString() }) };
    // A password someone chose replaces a one-time one.
    delete kept.oneTimePassword;
    await this.stores.users.put({
      ...kept,
      username,
      passwordHash: await this.passwords.hash(password),
      createdAt: existing?.createdAt ?? new Date().toISOString(),
      ...(oneTimePassword === undefined ? {} : { oneTimePassword }),
    });
    if (plan !== undefined) await this.stores.plans.set(username, plan);
    return { created: existing === undefined, endedSessions: existing === undefined ? 0 : await this.stores.sessions.revokeAll(username) };
  }

  /** Puts an existing user (local or from the provider) on a plan. */
  async setPlan(username: string, plan: string): Promise<boolean> {
    this.checkPlan(plan);
    if ((await this.stores.users.get(username)) === undefined) return false;
    await this.stores.plans.set(username, plan);
    return true;
  }

  /** Removes a user and ends their sessions. */
  async remove(username: string): Promise<{ removed: boolean; endedSessions: number }> {
    const removed = await this.stores.users.remove(username);
    await this.stores.plans.set(username, undefined);
    return { removed, endedSessions: await this.stores.sessions.revokeAll(username) };
  }

  /** Ends every session of a user, who may sign in again. */
  signOut(username: string): Promise<number> {
    return this.stores.sessions.revokeAll(username);
  }

  async list(): Promise<AccountSummary[]> {
    const names = await this.stores.users.list();
    return Promise.all(
      names.map(async (username) => {
        const [record, plan, openSessions] = await Promise.all([
          this.stores.users.get(username),
          this.stores.plans.get(username),
          this.stores.sessions.count(username),
        ]);
        const summary: AccountSummary = { username, kind: record?.passwordHash === undefined ? 'oidc' : 'password', openSessions };
        if (record?.email !== undefined) summary.email = record.email;
        if (plan !== undefined) summary.plan = plan;
        return summary;
      }),
    );
  }

  private checkPlan(plan: string): void {
    if (!this.planNames.has(plan)) throw new Error(`no plan "${plan}" (plans: ${[...this.planNames].join(', ')})`);
  }
}
