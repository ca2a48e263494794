import 'dotenv/config';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import password from '@inquirer/password';
import { normalizeUsername, USERNAME_PATTERN } from '../auth/usernames';
import { ConfigError, loadConfig } from '../config';
import type { Config } from '../config';
import { dayOf } from '../limits/spend';
import type { RedisSpendLog } from '../stores/spend-log';
import type { Accounts } from '../auth/accounts';
import { MIN_PASSWORD_LENGTH } from '../auth/passwords';
import { RedisConnectError } from '../infra/redis';
import { openAccountStore } from './account-store';
import { formatUsage, usageReport } from './usage-report';

const USAGE = `usage: npm run users -- add <username> [--plan <plan>]   add a user, or change a password (their sessions end);
                                                      the password comes from stdin, or a prompt on a terminal
       npm run users -- set <user> --plan <plan>       put a user (local or oidc:…) on a plan, from their next request on
       npm run users -- remove <username>              remove a user; their sessions end
       npm run users -- signout <user>                 end every session of a user (local or oidc:…)
       npm run users -- list                           users, their plan and how many sessions each has open
       npm run users -- usage [--day YYYY-MM-DD] [--top N] [--json]   calls and spend per user on a day (UTC; default today)`;

class UsageError extends Error {}

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
const write = (text: string) => process.stdout.write(text);

/** A local username, or an `oidc:…` id as `users -- list` prints it. */
function userArg(raw: string | undefined, allowOidc: boolean): string {
  if (raw === undefined) throw new UsageError('a user is needed');
  if (allowOidc && raw.startsWith('oidc:')) return raw;
  const name = normalizeUsername(raw);
  if (!USERNAME_PATTERN.test(name))
    throw new UsageError('A username is 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.');
  return name;
}

async function run(config: Config, accounts: Accounts, spend: RedisSpendLog, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { plan: { type: 'string' }, day: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [command, name] = positionals;
  switch (command) {
    case 'list':
      for (const a of await accounts.list()) {
        const who = a.email === undefined ? a.username : `${a.username} <${a.email}>`;
        write(`${who}\t${a.kind}\t${a.plan ?? config.defaultPlan}\t${sessions(a.openSessions)} open\n`);
      }
      return 0;
    case 'usage': {
      const day = values.day ?? dayOf(Date.now());
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UsageError('--day takes a date: YYYY-MM-DD');
      const top = values.top === undefined ? undefined : Number(values.top);
      if (top !== undefined && !(Number.isInteger(top) && top > 0)) throw new UsageError('--top takes a whole number');
      const report = usageReport(day, await spend.day(day), top);
      write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatUsage(report));
      return 0;
    }
    case 'signout': {
      const user = userArg(name, true);
      write(`ended ${sessions(await accounts.signOut(user))} of ${user}\n`);
      return 0;
    }
    case 'set': {
      const user = userArg(name, true);
      if (values.plan === undefined) throw new UsageError('set needs --plan <plan>');
      if (!(await accounts.setPlan(user, values.plan))) {
        process.stderr.write(`no user ${user}\n`);
        return 1;
      }
      write(`${user} is on plan ${values.plan}\n`);
      return 0;
    }
    case 'remove': {
      const user = userArg(name, true);
      const { removed, endedSessions } = await accounts.remove(user);
      write(removed ? `removed ${user}; ended ${sessions(endedSessions)}\n` : `no user ${user}\n`);
      return removed ? 0 : 1;
    }
    case 'add': {
      const user = userArg(name, false);
      if (values.plan !== undefined && !config.plans.has(values.plan))
        throw new UsageError(`no plan "${values.plan}" (plans: ${[...config.plans.keys()].join(', ')})`);
      const secret = await readPassword();
      if (secret.length < MIN_PASSWORD_LENGTH) {
        process.stderr.write(`The password must be at least ${MIN_PASSWORD_LENGTH} characters.\n`);
        return 2;
      }
      const { created, endedSessions } = await accounts.setPassword(user, secret, values.plan);
      const plan = values.plan === undefined ? '' : ` on plan ${values.plan}`;
      write(created ? `added ${user}${plan}\n` : `updated ${user}${plan}; ended ${sessions(endedSessions)}\n`);
      return 0;
    }
    default:
      throw new UsageError('');
  }
}

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  if (config.redisUrl === undefined) {
    process.stderr.write('REDIS_URL is not set: users live in Redis. (The embedded default has only the demo user.)\n');
    return 2;
  }
  const store = await openAccountStore(config, config.redisUrl);
  try {
    return await run(config, store.accounts, store.spend, process.argv.slice(2));
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if ((err as Error).name === 'ExitPromptError') {
      process.stderr.write('cancelled\n');
      process.exit(130);
    }
    if (err instanceof UsageError || (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${(err as Error).message === '' ? '' : `${(err as Error).message}\n`}${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof RedisConnectError) {
      process.stderr.write(`users: cannot reach Redis: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `users: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
