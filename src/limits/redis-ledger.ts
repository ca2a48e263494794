import type { RedisClient } from '../infra/redis';
import { RedisScript } from '../infra/redis-script';
import type { BudgetStatus, Ledger, LedgerWindow, RateGate, ReserveResult, SettleOutcome } from './ledger';
import { budgetOf } from './ledger';

/*
 * One hash per user. Fields:
 *   b:<bucket start ms>  micro-dollars spent or reserved in that bucket
 *   r:<reservation id>   "<amount>:<bucket start>:<reserved at ms>" until settled
 * A reservation is counted in its bucket from the start, so an instance that dies mid-call
 * leaves its reservation charged (money fails closed); settling adjusts the bucket once.
 */
const SWEEP = `
local key, now, windowMs, bucketMs, staleMs = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local flat = redis.call('HGETALL', key)
local total, reserved, buckets = 0, 0, {}
for i = 1, #flat, 2 do
  local field, value = flat[i], flat[i + 1]
  local kind = string.sub(field, 1, 2)
  if kind == 'b:' then
    local start = tonumber(string.sub(field, 3))
    if start + bucketMs <= now - windowMs then
      redis.call('HDEL', key, field)
    else
      local micros = tonumber(value)
      total = total + micros
      buckets[#buckets + 1] = { start, micros }
    end
  elseif kind == 'r:' then
    local amount, _, at = string.match(value, '^(%d+):(%d+):(%d+)$')
    if tonumber(at) + staleMs <= now then
      redis.call('HDEL', key, field)
    else
      reserved = reserved + tonumber(amount)
    end
  end
end
`;

const RESERVE = new RedisScript(`${SWEEP}
local budget, amount, id, gateLimit = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
if KEYS[2] and tonumber(redis.call('GET', KEYS[2]) or '0') > gateLimit then return { 2, 0, 0 } end
if budget >= 0 and total + amount > budget then
  if amount > budget then return { 0, math.ceil(windowMs / 1000), 1 } end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, bucket in ipairs(buckets) do
    freed = freed + bucket[2]
    if total - freed + amount <= budget then
      return { 0, math.max(1, math.ceil((bucket[1] + bucketMs + windowMs - now) / 1000)), 0 }
    end
  end
  return { 0, math.ceil(windowMs / 1000), 0 }
end
local start = now - (now % bucketMs)
redis.call('HINCRBY', key, 'b:' .. start, amount)
redis.call('HSET', key, 'r:' .. id, amount .. ':' .. start .. ':' .. now)
redis.call('PEXPIRE', key, windowMs + bucketMs + staleMs)
return { 1, 0, 0 }
`);

const SETTLE = new RedisScript(`
local key, id, mode, cost = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local value = redis.call('HGET', key, 'r:' .. id)
if not value then return 0 end
redis.call('HDEL', key, 'r:' .. id)
local amount, start = string.match(value, '^(%d+):(%d+):')
amount = tonumber(amount)
local delta = 0
if mode == 'release' then delta = -amount elseif mode == 'charge' then delta = cost - amount end
local field = 'b:' .. start
if delta ~= 0 and redis.call('HEXISTS', key, field) == 1 then
  if redis.call('HINCRBY', key, field, delta) <= 0 then redis.call('HDEL', key, field) end
end
return 1
`);

const STATUS = new RedisScript(`${SWEEP}
local oldest = -1
for _, bucket in ipairs(buckets) do
  if oldest < 0 or bucket[1] < oldest then oldest = bucket[1] end
end
return { total, reserved, oldest }
`);

export class RedisLedger implements Ledger {
  private readonly budget: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    limitMicros: number,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
  ) {
    this.budget = budgetOf(limitMicros);
  }

  private key(user: string): string {
    return `${this.prefix}ledger:${user}`;
  }

  private windowArgs(): number[] {
    return [this.now(), this.window.windowMs, this.window.bucketMs, this.window.staleReservationMs];
  }

  async reserve(user: string, id: string, amount: number, gate?: RateGate): Promise<ReserveResult> {
    const keys = gate === undefined ? [this.key(user)] : [this.key(user), gate.key];
    const [ok, retryAfter, neverFits] = (await RESERVE.run(this.redis, keys, [...this.windowArgs(), this.budget, amount, id, gate?.limit ?? 0])) as number[];
    if (ok === 1) return { ok: true };
    if (ok === 2) return { ok: false, retryAfterSeconds: 0, neverFits: false, gated: true };
    return { ok: false, retryAfterSeconds: retryAfter ?? 1, neverFits: neverFits === 1 };
  }

  async settle(user: string, id: string, outcome: SettleOutcome): Promise<void> {
    const cost = outcome.kind === 'charge' ? outcome.micros : 0;
    await SETTLE.run(this.redis, [this.key(user)], [id, outcome.kind, cost]);
  }

  async status(user: string): Promise<BudgetStatus> {
    const [used, reserved, oldest] = (await STATUS.run(this.redis, [this.key(user)], this.windowArgs())) as number[];
    return {
      limitMicros: this.budget >= 0 ? this.budget : null,
      usedMicros: used ?? 0,
      reservedMicros: reserved ?? 0,
      resetAt: oldest === undefined || oldest < 0 ? null : Math.ceil((oldest + this.window.bucketMs + this.window.windowMs) / 1000),
    };
  }
}
