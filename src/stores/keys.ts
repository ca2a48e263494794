import { createHash } from 'node:crypto';

/**
 * Every Redis key perf-bff writes, in one place (docs/architecture.md, "State in Redis", shows
 * the same table). On one Redis the names are the ones perf-bff has always used. On a Redis
 * Cluster, every key that a single step (a Lua script, a MULTI) touches together carries the same
 * hash tag, so that it lands in one slot:
 *
 * - `{u:<id>}`: everything about one subject of limits: a user, a guest, a guest's address, a
 *   pool (`pool:global`, `pool:guests`): its rate-limit window, its ledger, its plan, its index of
 *   sessions. An admission step touches one subject's window and ledger together;
 * - `{users}`: the accounts and the set of their names, written together;
 * - `{prices}`: a model's learned price and the set of models (one script);
 * - `{spend:<n>}`: one of SPEND_SHARDS slices of a day's spend log, so that the log written by
 *   every call is spread over the cluster rather than held by one node.
 *
 * Sessions and sign-in throttles are single keys: any slot will do (the same names in both layouts). REDIS_KEY_PREFIX starts every
 * key in both layouts (it may not contain braces, so it never makes a tag of its own).
 */
export interface KeySchema {
  /** rate-limiter-flexible prepends these to a username+IP and to an IP. */
  readonly loginThrottlePrefix: string;
  readonly loginIpThrottlePrefix: string;
  /** connect-redis prepends this to the session id. */
  readonly sessionPrefix: string;
  session(sid: string): string;
  sessionIndex(user: string): string;
  user(name: string): string;
  userNames(): string;
  plan(user: string): string;
  ledger(id: string): string;
  rateWindow(id: string): string;
  /** The day's spend log slices: one on a single Redis, SPEND_SHARDS on a cluster. */
  spendDay(day: string): string[];
  /** The slice of the day's spend log that holds this user. */
  spendOf(day: string, user: string): string;
  priceModel(model: string): string;
  priceModels(): string;
}

/** Slices of the daily spend log on a cluster: enough to spread over many shards, few enough to read at once. */
const SPEND_SHARDS = 16;

export function keySchema(prefix: string, cluster: boolean): KeySchema {
  const subject = (id: string) => (cluster ? `{u:${id}}` : id);
  const spendKey = (day: string, shard: number) => (cluster ? `${prefix}spend:${day}:{spend:${shard}}` : `${prefix}spend:${day}`);
  const accounts = cluster ? `${prefix}{users}:` : prefix;
  return {
    loginThrottlePrefix: `${prefix}rl:login`,
    loginIpThrottlePrefix: `${prefix}rl:login-ip`,
    sessionPrefix: `${prefix}sess:`,
    session: (sid) => `${prefix}sess:${sid}`,
    sessionIndex: (user) => `${prefix}user-sessions:${subject(user)}`,
    user: (name) => `${accounts}user:${name}`,
    userNames: () => `${accounts}users`,
    plan: (user) => `${prefix}plan:${subject(user)}`,
    ledger: (id) => `${prefix}ledger:${subject(id)}`,
    rateWindow: (id) => `${prefix}rl:chat:${subject(id)}`,
    spendDay: (day) => (cluster ? Array.from({ length: SPEND_SHARDS }, (_v, n) => spendKey(day, n)) : [spendKey(day, 0)]),
    spendOf: (day, user) => spendKey(day, cluster ? spendShard(user) : 0),
    priceModel: (model) => `${prefix}{prices}:model:${model}`,
    priceModels: () => `${prefix}{prices}:models`,
  };
}

/** A user's slice of the spend log: stable across instances and restarts. */
function spendShard(user: string): number {
  return createHash('sha1').update(user).digest().readUInt32BE(0) % SPEND_SHARDS;
}
