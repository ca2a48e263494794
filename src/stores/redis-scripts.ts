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

/** EVALSHA's numkeys and the keys (a script may take any number), then the arguments. */
function pushAll(parser: CommandParser, keys: string[], args: (string | number)[]): void {
  parser.pushKeysLength(keys);
  parser.push(...args.map(String));
}

const numbers = (reply: unknown): number[] => (reply as unknown[]).map(Number);

/**
 * KEYS: the windows' counters, then the budgets' ledgers. ARGV: the ledger window, the cap, the
 * reservation id, the number of windows, each window's (points, seconds), each budget (-1: none).
 * → [count, ttl] per window, then reserved (1 yes, 0 no room, -1 not tried: a window refused),
 *   the refusing budget's number, retryAfter, neverFits, then each budget's use after this step.
 */
export const admit = defineScript({
  SCRIPT: `${HIT}${SWEEP}
local now, windowMs, bucketMs, staleMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local amount, id, n = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local m = #KEYS - n
local reply, refusedWindow = {}, false
for i = 1, n do
  local points, seconds = tonumber(ARGV[6 + 2 * i]), tonumber(ARGV[7 + 2 * i])
  local count, ttl = hit(KEYS[i], seconds)
  reply[#reply + 1] = count
  reply[#reply + 1] = ttl
  if count > points then refusedWindow = true end
end
local function finish(reserved, refusedBy, retryAfter, neverFits, used)
  reply[#reply + 1] = reserved
  reply[#reply + 1] = refusedBy
  reply[#reply + 1] = retryAfter
  reply[#reply + 1] = neverFits
  for j = 1, m do reply[#reply + 1] = used[j] or 0 end
  return reply
end
if refusedWindow then return finish(-1, 0, 0, 0, {}) end
local totals = {}
for j = 1, m do
  local budget = tonumber(ARGV[7 + 2 * n + j])
  local total, _, buckets = sweep(KEYS[n + j], now, windowMs, bucketMs, staleMs)
  totals[j] = total
  if budget >= 0 and total + amount > budget then
    if amount > budget then return finish(0, j, math.ceil(windowMs / 1000), 1, totals) end
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    local freed = 0
    for _, bucket in ipairs(buckets) do
      freed = freed + bucket[2]
      if total - freed + amount <= budget then
        return finish(0, j, math.max(1, math.ceil((bucket[1] + bucketMs + windowMs - now) / 1000)), 0, totals)
      end
    end
    return finish(0, j, math.ceil(windowMs / 1000), 0, totals)
  end
end
local start = now - (now % bucketMs)
for j = 1, m do
  local key = KEYS[n + j]
  redis.call('HINCRBY', key, 'b:' .. start, amount)
  redis.call('HSET', key, 'r:' .. id, amount .. ':' .. start .. ':' .. now)
  redis.call('PEXPIRE', key, windowMs + bucketMs + staleMs)
  totals[j] = totals[j] + amount
end
return finish(1, 0, 0, 0, totals)
`,
  parseCommand(parser: CommandParser, windowKeys: string[], ledgerKeys: string[], args: (string | number)[]) {
    pushAll(parser, [...windowKeys, ...ledgerKeys], args);
  },
  transformReply: numbers,
});

/** KEYS: the windows' counters; ARGV: each window's seconds. → [count, ttl] per window. */
export const hit = defineScript({
  SCRIPT: `${HIT}
local reply = {}
for i = 1, #KEYS do
  local count, ttl = hit(KEYS[i], tonumber(ARGV[i]))
  reply[#reply + 1] = count
  reply[#reply + 1] = ttl
end
return reply
`,
  parseCommand(parser: CommandParser, windowKeys: string[], seconds: number[]) {
    pushAll(parser, windowKeys, seconds);
  },
  transformReply: numbers,
});

/** KEYS: the ledgers the reservation was made in. → how many of them knew it. */
export const settle = defineScript({
  SCRIPT: `
local id, mode, cost = ARGV[1], ARGV[2], tonumber(ARGV[3])
local closed = 0
for _, key in ipairs(KEYS) do
  local value = redis.call('HGET', key, 'r:' .. id)
  if value then
    redis.call('HDEL', key, 'r:' .. id)
    local amount, start = string.match(value, '^(%d+):(%d+):')
    amount = tonumber(amount)
    local delta = 0
    if mode == 'release' then delta = -amount elseif mode == 'charge' then delta = cost - amount end
    local field = 'b:' .. start
    if delta ~= 0 and redis.call('HEXISTS', key, field) == 1 then
      if redis.call('HINCRBY', key, field, delta) <= 0 then redis.call('HDEL', key, field) end
    end
    closed = closed + 1
  end
end
return closed
`,
  parseCommand(parser: CommandParser, ledgerKeys: string[], id: string, mode: 'charge' | 'keep' | 'release', costMicros: number) {
    pushAll(parser, ledgerKeys, [id, mode, costMicros]);
  },
  transformReply: (reply: unknown) => Number(reply),
});

/**
 * KEYS: the windows' counters, then the ledgers; ARGV: the ledger window, the number of windows.
 * → [count, ttl (-2: no window)] per window, then [used, reserved, oldest bucket (-1: none)] per ledger.
 */
export const status = defineScript({
  SCRIPT: `${SWEEP}
local now, windowMs, bucketMs, staleMs, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local reply = {}
for i = 1, n do
  reply[#reply + 1] = tonumber(redis.call('GET', KEYS[i]) or '0')
  reply[#reply + 1] = redis.call('PTTL', KEYS[i])
end
for j = n + 1, #KEYS do
  local total, reserved, buckets = sweep(KEYS[j], now, windowMs, bucketMs, staleMs)
  local oldest = -1
  for _, bucket in ipairs(buckets) do
    if oldest < 0 or bucket[1] < oldest then oldest = bucket[1] end
  end
  reply[#reply + 1] = total
  reply[#reply + 1] = reserved
  reply[#reply + 1] = oldest
end
return reply
`,
  parseCommand(parser: CommandParser, windowKeys: string[], ledgerKeys: string[], window: WindowArgs) {
    pushAll(parser, [...windowKeys, ...ledgerKeys], [...window, windowKeys.length]);
  },
  transformReply: numbers,
});

/** Registered on the client under these names (prefixed: no clash with Redis's own commands). */
export const ADMISSION_SCRIPTS = { ledgerAdmit: admit, ledgerHit: hit, ledgerSettle: settle, ledgerStatus: status };
