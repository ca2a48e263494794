import 'dotenv/config';
import { createInterface } from 'node:readline';
import password from '@inquirer/password';
import { Accounts } from '../auth/accounts';
import { createPasswordHasher } from '../auth/passwords';
import { normalizeUsername, USERNAME_PATTERN } from '../auth/usernames';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { createStoreClient } from '../stores/redis-client';
import { RedisSessionIndex } from '../stores/session-index';
import { RedisUserStore } from '../stores/user-store';

const USAGE = `usage: npm run users -- add <username>      add a user, or change a password (their sessions end);
                                           the password comes from stdin, or a prompt on a terminal
       npm run users -- remove <username>   remove a user; their sessions end
       npm run users -- signout <user>      end every session of a user (local or oidc:…)
       npm run users -- list                users, and how many sessions each has open`;

const MIN_PASSWORD = 8;
const COMMANDS = ['add', 'remove', 'signout', 'list'];

/** On a terminal, a prompt that does not echo (Ctrl-C cancels); otherwise one line of stdin. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) return password({ message: 'Password:', mask: false }, { output: process.stderr });
  const rl = createInterface({ input: process.stdin, terminal: false });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return line.replace(/\r$/, '');
}

const sessions = (n: number) => `${n} session${n === 1 ? '' : 's'}`;

async function run(accounts: Accounts, command: string, rawName: string | undefined): Promise<number> {
  if (command === 'list') {
    for (const a of await accounts.list()) {
      const who = a.email === undefined ? a.username : `${a.username} <${a.email}>`;
      process.stdout.write(`${who}\t${a.kind}\t${sessions(a.openSessions)} open\n`);
    }
    return 0;
  }
  const name = command === 'signout' && rawName?.startsWith('oidc:') === true ? rawName : normalizeUsername(rawName ?? '');
  if (command === 'signout') {
    process.stdout.write(`ended ${sessions(await accounts.signOut(name))} of ${name}\n`);
    return 0;
  }
  if (!USERNAME_PATTERN.test(name)) {
    process.stderr.write('A username is 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.\n');
    return 2;
  }
  if (command === 'remove') {
    const { removed, endedSessions } = await accounts.remove(name);
    process.stdout.write(removed ? `removed ${name}; ended ${sessions(endedSessions)}\n` : `no user ${name}\n`);
    return removed ? 0 : 1;
  }
  const secret = await readPassword();
  if (secret.length < MIN_PASSWORD) {
    process.stderr.write(`The password must be at least ${MIN_PASSWORD} characters.\n`);
    return 2;
  }
  const { created, endedSessions } = await accounts.setPassword(name, secret);
  process.stdout.write(created ? `added ${name}\n` : `updated ${name}; ended ${sessions(endedSessions)}\n`);
  return 0;
}

async function main(): Promise<number> {
  const [command, rawName] = process.argv.slice(2);
  if (command === undefined || !COMMANDS.includes(command) || (command !== 'list' && rawName === undefined)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  if (config.redisUrl === undefined) {
    process.stderr.write('REDIS_URL is not set: users live in Redis. (The embedded default has only the demo user.)\n');
    return 2;
  }
  const redis = createStoreClient(
    { url: config.redisUrl, tlsRejectUnauthorized: config.redisTlsRejectUnauthorized },
    createLogger('silent'),
  );
  await redis.connect();
  try {
    const prefix = config.redisKeyPrefix;
    return await run(
      new Accounts(new RedisUserStore(redis, prefix), new RedisSessionIndex(redis, prefix), createPasswordHasher()),
      command,
      rawName,
    );
  } finally {
    await redis.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if ((err as Error).name === 'ExitPromptError') {
      process.stderr.write('cancelled\n');
      process.exit(130);
    }
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `users: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
