import { defineScript } from 'redis';
import type { CommandParser } from 'redis';

/*
 * The admission scripts, registered on the client with node-redis's defineScript: each call is an
 * EVALSHA (node-redis sends the script text once, on NOSCRIPT). memory-admission.ts applies the
 * same rules in one process; a change here is a change there.
 *
 * The ledger is one hash per user. Fields:
 *   b:<bucket start ms>  micro-dollars spent or reserved in that bucket
 *   r:<reservation id>   "<amount>:<bucket start>:<reserved at ms>" until settled
 * A reservation is counted in its bucket from the start, so an instance that dies mid-call
 * leaves its reservation charged (money fails closed); settling adjusts the bucket once.
 *
 * The chat rate limit is a fixed-window counter perf-bff owns (the key rate-limiter-flexible
 * used for it before, with the same meaning): admitting a request and reserving its cap happen
 * in one script, so a request over the limit never holds budget, and one round trip does both.
 */

const HIT = `
local function hit(rateKey, windowSeconds)
  redis.call('SET', rateKey, 0, 'EX', windowSeconds, 'NX')
  local count = redis.call('INCR', rateKey)
  local ttl = redis.call('PTTL', rateKey)
  if ttl < 0 then
    redis.call('EXPIRE', rateKey, windowSeconds)
    ttl = windowSeconds * 1000
  end
  return count, ttl
end
`;

const SWEEP = `
local function sweep(key, now, windowMs, bucketMs, staleMs)
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
  return total, reserved, buckets
end
`;

/** Window arguments, in this order, for the scripts that read the ledger. */
export type WindowArgs = [now: number, windowMs: number, bucketMs: number, staleMs: number];

function pushAll(parser: CommandParser, keys: string[], args: (string | number)[]): void {
  for (const key of keys) parser.pushKey(key);
  parser.push(...args.map(String));
}

const numbers = (reply: unknown): number[] => (reply as unknown[]).map(Number);

/** → [count, ttlMs, reserved (1 yes, 0 no room, -1 not tried: over the rate limit), retryAfter, neverFits] */
export const admit = defineScript({
  SCRIPT: `${HIT}${SWEEP}
local now, windowMs, bucketMs, staleMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local budget, amount, id = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local points, windowSeconds = tonumber(ARGV[8]), tonumber(ARGV[9])
local count, ttl = hit(KEYS[2], windowSeconds)
if count > points then return { count, ttl, -1, 0, 0 } end
local total, _, buckets = sweep(KEYS[1], now, windowMs, bucketMs, staleMs)
if budget >= 0 and total + amount > budget then
  if amount > budget then return { count, ttl, 0, math.ceil(windowMs / 1000), 1 } end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, bucket in ipairs(buckets) do
    freed = freed + bucket[2]
    if total - freed + amount <= budget then
      return { count, ttl, 0, math.max(1, math.ceil((bucket[1] + bucketMs + windowMs - now) / 1000)), 0 }
    end
  end
  return { count, ttl, 0, math.ceil(windowMs / 1000), 0 }
end
local start = now - (now % bucketMs)
redis.call('HINCRBY', KEYS[1], 'b:' .. start, amount)
redis.call('HSET', KEYS[1], 'r:' .. id, amount .. ':' .. start .. ':' .. now)
redis.call('PEXPIRE', KEYS[1], windowMs + bucketMs + staleMs)
return { count, ttl, 1, 0, 0 }
`,
  NUMBER_OF_KEYS: 2,
  parseCommand(
    parser: CommandParser,
    ledgerKey: string,
    rateKey: string,
    window: WindowArgs,
    budget: number,
    amount: number,
    id: string,
    points: number,
    windowSeconds: number,
  ) {
    pushAll(parser, [ledgerKey, rateKey], [...window, budget, amount, id, points, windowSeconds]);
  },
  transformReply: numbers,
});

/** → [count, ttlMs] */
export const hit = defineScript({
  SCRIPT: `${HIT}
local count, ttl = hit(KEYS[1], tonumber(ARGV[1]))
return { count, ttl }
`,
  NUMBER_OF_KEYS: 1,
  parseCommand(parser: CommandParser, rateKey: string, windowSeconds: number) {
    pushAll(parser, [rateKey], [windowSeconds]);
  },
  transformReply: numbers,
});

/** → 1 when the reservation was found and closed, 0 when it was unknown. */
export const settle = defineScript({
  SCRIPT: `
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
`,
  NUMBER_OF_KEYS: 1,
  parseCommand(parser: CommandParser, ledgerKey: string, id: string, mode: 'charge' | 'keep' | 'release', costMicros: number) {
    pushAll(parser, [ledgerKey], [id, mode, costMicros]);
  },
  transformReply: (reply: unknown) => Number(reply),
});

/** → [used, reserved, oldest bucket start (-1: none), window count, window ttlMs (-2: no window)] */
export const status = defineScript({
  SCRIPT: `${SWEEP}
local total, reserved, buckets = sweep(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
local oldest = -1
for _, bucket in ipairs(buckets) do
  if oldest < 0 or bucket[1] < oldest then oldest = bucket[1] end
end
return { total, reserved, oldest, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[2]) }
`,
  NUMBER_OF_KEYS: 2,
  parseCommand(parser: CommandParser, ledgerKey: string, rateKey: string, window: WindowArgs) {
    pushAll(parser, [ledgerKey, rateKey], window);
  },
  transformReply: numbers,
});

/** Registered on the client under these names (prefixed: no clash with Redis's own commands). */
export const ADMISSION_SCRIPTS = { ledgerAdmit: admit, ledgerHit: hit, ledgerSettle: settle, ledgerStatus: status };
