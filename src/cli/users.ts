import 'dotenv/config';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { hashPassword } from '../auth/passwords';
import { normalizeUsername, RedisUserStore, USERNAME_PATTERN } from '../auth/user-store';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { createRedisClient } from '../infra/redis';

const USAGE = `usage: npm run users -- add <username>     (password from stdin, or prompted on a terminal)
       npm run users -- remove <username>
       npm run users -- list`;

const MIN_PASSWORD = 8;

/** Reads one line; on a terminal, without echoing it. */
async function readPassword(): Promise<string> {
  const interactive = process.stdin.isTTY;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: interactive });
  if (interactive) process.stderr.write('Password: ');
  muted = interactive;
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (interactive) process.stderr.write('\n');
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
  const redis = createRedisClient({ url: config.redisUrl, tlsRejectUnauthorized: config.redisTlsRejectUnauthorized }, createLogger('silent'));
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
    const password = await readPassword();
    if (password.length < MIN_PASSWORD) {
      process.stderr.write(`The password must be at least ${MIN_PASSWORD} characters.\n`);
      return 2;
    }
    const existed = (await users.get(username)) !== undefined;
    await users.put({ username, passwordHash: await hashPassword(password), createdAt: new Date().toISOString() });
    process.stdout.write(`${existed ? 'updated' : 'added'} ${username}\n`);
    return 0;
  } finally {
    await redis.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `users: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
