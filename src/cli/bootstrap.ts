import 'dotenv/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config';
import type { Config } from '../config';
import { RedisConnectError } from '../infra/redis';
import { openAccountStore } from './account-store';
import type { AccountStore } from './account-store';

/**
 * The release phase (Procfile `release:`), run once per deploy before the new code serves:
 * - the configuration is checked: a bad one fails the release, and the running one keeps serving;
 * - a new deployment gets its first user, ADMIN_USERNAME, with a generated one-time password
 *   printed here, in the release log, once. It is good for one sign-in within 24 h, in which its
 *   owner must choose their own password (the chat page asks), and then it is dead. Every later
 *   release finds users and changes nothing.
 *
 * Printing a password is the one exception to "no password in a log": one that nobody chose,
 * that expires, and that works only to replace itself. `npm run users -- add <name>` makes a new
 * one for someone who missed the window.
 */

const ONE_TIME_PASSWORD_VALID_MS = 24 * 3600 * 1000;
/** A new app's Redis may still be being provisioned when its first release runs: wait for it this long. */
const REDIS_PATIENCE_MS = 120_000;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function openWithPatience(config: Config, redisUrl: string): Promise<AccountStore> {
  const giveUpAt = Date.now() + REDIS_PATIENCE_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openAccountStore(config, redisUrl);
    } catch (err) {
      if (!(err instanceof RedisConnectError) || Date.now() > giveUpAt) throw err;
      say(`release: Redis is not reachable yet (${err.message}); trying again (attempt ${attempt})`);
      await sleep(Math.min(2000 * attempt, 15_000));
    }
  }
}

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  say('release: the configuration is valid');
  if (config.adminUsername === undefined) {
    say('release: ADMIN_USERNAME is not set, so no first user is made (add users with `npm run users -- add <name>`)');
    return 0;
  }
  if (config.redisUrl === undefined) {
    say('release: REDIS_URL is not set: users live in Redis, so no first user is made');
    return 0;
  }
  const store = await openWithPatience(config, config.redisUrl);
  try {
    const password = await store.accounts.createFirstUser(config.adminUsername, ONE_TIME_PASSWORD_VALID_MS, Date.now());
    if (password === undefined) {
      say('release: users exist; no first user is made');
      return 0;
    }
    const until = new Date(Date.now() + ONE_TIME_PASSWORD_VALID_MS).toISOString();
    const where = config.publicUrl ?? "your app's URL";
    say(`release: the first user is "${config.adminUsername}", with this one-time password (shown only here, only once):`);
    say('');
    say(`    ${password}`);
    say('');
    say(`release: sign in at ${where} before ${until}; you will then choose your own password, and this one stops working.`);
    say(`release: missed it? \`heroku run npm run users -- add ${config.adminUsername}\` sets a password.`);
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`release: ${err.message}\n`);
    else if (err instanceof RedisConnectError) process.stderr.write(`release: cannot reach Redis: ${err.message}\n`);
    else process.stderr.write(`release: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
