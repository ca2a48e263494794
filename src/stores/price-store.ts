import { defineScript } from 'redis';
import type { CommandParser } from 'redis';
import { withDeadline } from '../infra/deadline';
import { observe } from '../limits/prices';
import type { PriceStore, PriceSums, TokenCounts } from '../limits/prices';
import type { KeySchema } from './keys';
import { keysFor } from './store-redis';
import type { StoreRedis } from './store-redis';

const FIELDS = ['ii', 'oo', 'io', 'ic', 'oc', 'count', 'at'] as const;
/** Learned prices of models not seen for this long are forgotten. */
const TTL_MS = 30 * 86_400_000;
/** A bound on what a misbehaving upstream could make us store. */
const MAX_MODELS = 500;

/**
 * KEYS: the model's sums, the set of models (one hash slot: `{prices}`). ARGV: model, input and
 * output tokens, cost, now (ms), half-life (ms), the most models kept, TTL (ms).
 * → the sums as strings (Lua numbers would come back truncated to integers), or nil when the
 *   model is new and MAX_MODELS are known. The arithmetic is `observe()` in limits/prices.ts.
 */
export const priceObserve = defineScript({
  SCRIPT: `
local key, set = KEYS[1], KEYS[2]
local model, i, o, c = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now, half, most, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local names = { 'ii', 'oo', 'io', 'ic', 'oc', 'count', 'at' }
local f = redis.call('HMGET', key, unpack(names))
if not f[1] and redis.call('SISMEMBER', set, model) == 0 and redis.call('SCARD', set) >= most then return nil end
local ii, oo, io, ic, oc, count, at, decay = 0, 0, 0, 0, 0, 0, now, 0
if f[1] then
  ii, oo, io, ic, oc, count, at = tonumber(f[1]), tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), tonumber(f[5]), tonumber(f[6]), tonumber(f[7])
  decay = 0.5 ^ (math.max(0, now - at) / half)
end
local out = {
  ii * decay + i * i, oo * decay + o * o, io * decay + i * o, ic * decay + i * c, oc * decay + o * c, count + 1, math.max(at, now)
}
local reply, fields = {}, {}
for n = 1, 7 do
  reply[n] = string.format('%.17g', out[n])
  fields[2 * n - 1], fields[2 * n] = names[n], reply[n]
end
redis.call('HSET', key, unpack(fields))
redis.call('PEXPIRE', key, ttl)
redis.call('SADD', set, model)
redis.call('PEXPIRE', set, ttl)
return reply
`,
  NUMBER_OF_KEYS: 2,
  parseCommand(parser: CommandParser, key: string, set: string, args: (string | number)[]) {
    parser.pushKey(key);
    parser.pushKey(set);
    parser.push(...args.map(String));
  },
  transformReply: (reply: unknown) => (reply === null ? null : (reply as string[]).map(Number)),
});

export const PRICE_SCRIPTS = { priceObserve };

function sumsOf(values: readonly number[]): PriceSums {
  const [ii = 0, oo = 0, io = 0, ic = 0, oc = 0, count = 0, at = 0] = values;
  return { ii, oo, io, ic, oc, count, at };
}

export class RedisPriceStore implements PriceStore {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: StoreRedis,
    prefix: string,
    private readonly halfLifeMs: number,
  ) {
    this.keys = keysFor(redis, prefix);
  }

  async observe(model: string, counts: TokenCounts, costUsd: number, now: number): Promise<PriceSums> {
    const args = [model, counts.input, counts.output, costUsd, now, this.halfLifeMs, MAX_MODELS, TTL_MS];
    const reply = await withDeadline(this.redis.priceObserve(this.keys.priceModel(model), this.keys.priceModels(), args), 'price update');
    // Not kept (too many models): what this one answer says alone.
    return reply === null ? observe(undefined, counts, costUsd, now, this.halfLifeMs) : sumsOf(reply);
  }

  async all(): Promise<Map<string, PriceSums>> {
    const models = await withDeadline(this.redis.sMembers(this.keys.priceModels()), 'price lookup');
    const hashes = await withDeadline(Promise.all(models.map((m) => this.redis.hGetAll(this.keys.priceModel(m)))), 'price lookup');
    const all = new Map<string, PriceSums>();
    models.forEach((model, n) => {
      const hash = hashes[n] ?? {};
      if (hash.count !== undefined) all.set(model, sumsOf(FIELDS.map((f) => Number(hash[f]))));
    });
    return all;
  }
}

export class MemoryPriceStore implements PriceStore {
  private readonly sums = new Map<string, PriceSums>();

  constructor(private readonly halfLifeMs: number) {}

  observe(model: string, counts: TokenCounts, costUsd: number, now: number): Promise<PriceSums> {
    const next = observe(this.sums.get(model), counts, costUsd, now, this.halfLifeMs);
    if (this.sums.has(model) || this.sums.size < MAX_MODELS) this.sums.set(model, next);
    return Promise.resolve(next);
  }

  all(): Promise<Map<string, PriceSums>> {
    return Promise.resolve(new Map(this.sums));
  }
}
