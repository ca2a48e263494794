import 'dotenv/config';
import { createInterface } from 'node:readline';
import password from '@inquirer/password';
import { createPasswordHasher } from '../auth/passwords';
import { normalizeUsername, USERNAME_PATTERN } from '../auth/usernames';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { createStoreClient } from '../stores/redis-client';
import { RedisUserStore } from '../stores/user-store';

const USAGE = `usage: npm run users -- add <username>     (password from stdin, or prompted on a terminal)
       npm run users -- remove <username>
       npm run users -- list`;

const MIN_PASSWORD = 8;

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

async function main(): Promise<number> {
  const [command, rawName] = process.argv.slice(2);
  if (command === undefined || !['add', 'remove', 'list'].includes(command) || (command !== 'list' && rawName === undefined)) {
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
    const users = new RedisUserStore(redis, config.redisKeyPrefix);
    if (command === 'list') {
      for (const name of await users.list()) process.stdout.write(`${name}\n`);
      return 0;
    }
    const username = normalizeUsername(rawName ?? '');
    if (!USERNAME_PATTERN.test(username)) {
      process.stderr.write('A username is 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit.\n');
      return 2;
    }
    if (command === 'remove') {
      const removed = await users.remove(username);
      process.stdout.write(removed ? `removed ${username}\n` : `no user ${username}\n`);
      return removed ? 0 : 1;
    }
    const secret = await readPassword();
    if (secret.length < MIN_PASSWORD) {
      process.stderr.write(`The password must be at least ${MIN_PASSWORD} characters.\n`);
      return 2;
    }
    const existed = (await users.get(username)) !== undefined;
    await users.put({ username, passwordHash: await createPasswordHasher().hash(secret), createdAt: new Date().toISOString() });
    process.stdout.write(`${existed ? 'updated' : 'added'} ${username}\n`);
    return 0;
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
