import { outcomeOf } from '../src/chat/upstream-failure';
import { ceilingSettlement, settlementFor, spendSourceOf } from '../src/limits/settle-policy';
import type { CallOutcome, Settlement, SettleTerms } from '../src/limits/settle-policy';
import { PerfCallError } from '../src/perf/failure';
import type { PerfFailure } from '../src/perf/failure';

/** A failed call as the Perf client reports it, turned into the outcome the money rule reads. */
const failed = (failure: PerfFailure, perfMayHaveBilled: boolean, attempts = 1): CallOutcome =>
  outcomeOf(new PerfCallError(failure, perfMayHaveBilled, attempts));
const CHARGE_0_0031: Settlement = { kind: 'charge', micros: 3100, source: 'reported' };
const KEEP: Settlement = { kind: 'keep' };
const RELEASE: Settlement = { kind: 'release' };
/** A $0.01 cap, and the default margin. */
const TERMS: SettleTerms = { capMicros: 10_000, streamCostMargin: 1.25 };

// One row per situation, grouped as the README's money table groups them (its three rows).
const table: [string, CallOutcome, Settlement][] = [
  // "Perf answered and reported perf.cost_usd: charges exactly that, also above the cap, and releases the rest"
  ['a JSON answer reporting its cost', { kind: 'answered', costUsd: 0.0031 }, CHARGE_0_0031],
  ['a stream whose final chunk reports its cost', { kind: 'answered', costUsd: 0.0031 }, CHARGE_0_0031],
  [
    "an answer reporting more than the cap (Perf's cap is soft)",
    { kind: 'answered', costUsd: 25 },
    { kind: 'charge', micros: 25_000_000, source: 'reported' },
  ],
  ['an answer reporting a cost of zero', { kind: 'answered', costUsd: 0 }, { kind: 'charge', micros: 0, source: 'reported' }],
  ['a reported cost wins over an estimate', { kind: 'answered', costUsd: 0.0031, estimatedUsd: 0.009 }, CHARGE_0_0031],
  // "A complete stream without a reported cost, at a known price: charges the estimate × the margin, at most the cap"
  [
    'a complete stream estimated at $0.0008',
    { kind: 'answered', costUsd: undefined, estimatedUsd: 0.0008 },
    { kind: 'charge', micros: 1000, source: 'estimated' },
  ],
  [
    'an estimate whose margin would pass the cap',
    { kind: 'answered', costUsd: undefined, estimatedUsd: 0.009 },
    { kind: 'charge', micros: 10_000, source: 'estimated' },
  ],
  [
    'an estimate above the cap',
    { kind: 'answered', costUsd: undefined, estimatedUsd: 0.5 },
    { kind: 'charge', micros: 10_000, source: 'estimated' },
  ],
  // "The cost is unknown: keeps the whole reservation"
  ['a stream that reports no cost', { kind: 'answered', costUsd: undefined }, KEEP],
  ['a 200 whose body broke off or could not be read', { kind: 'answered', costUsd: undefined }, KEEP],
  ['the browser left while Perf was working', failed({ kind: 'client_gone' }, true), KEEP],
  ['Perf timed out after taking the request', failed({ kind: 'timeout', phase: 'response' }, true), KEEP],
  ['Perf dropped the connection after taking the request', failed({ kind: 'unreachable', code: 'ECONNRESET' }, true), KEEP],
  ['a 5xx after an earlier attempt was dropped mid-request', failed({ kind: 'status', status: 502 }, true, 2), KEEP],
  ['a fault of ours after admission', { kind: 'ambiguous', why: 'internal_error' }, KEEP],
  // "Perf never did the work: releases all of it"
  ['every attempt ended in a 5xx', failed({ kind: 'status', status: 503 }, false, 3), RELEASE],
  ['Perf refused the request (4xx)', failed({ kind: 'status', status: 400 }, false), RELEASE],
  ['Perf refused our key (401)', failed({ kind: 'status', status: 401 }, false), RELEASE],
  ['Perf rate-limited us (429)', failed({ kind: 'status', status: 429, retryAfterSeconds: 30 }, false), RELEASE],
  ['the connection was refused', failed({ kind: 'unreachable', code: 'ECONNREFUSED' }, false), RELEASE],
  ['the deadline passed between refused attempts', failed({ kind: 'timeout', phase: 'response' }, false, 2), RELEASE],
  ['the browser left before anything was sent', failed({ kind: 'client_gone' }, false, 0), RELEASE],
  ['the browser left during the backoff after a 5xx', failed({ kind: 'client_gone' }, false, 1), RELEASE],
];

describe('the money rule: how a call ended decides what its reservation becomes', () => {
  test.each(table)('%s', (_situation, outcome, expected) => {
    expect(settlementFor(outcome, TERMS)).toEqual(expected);
  });

  test("the operator's ceiling never counts an estimate: it keeps the cap where the user is charged the estimate", () => {
    const estimated = settlementFor({ kind: 'answered', costUsd: undefined, estimatedUsd: 0.0008 }, TERMS);
    expect(ceilingSettlement(estimated)).toEqual(KEEP);
    expect(ceilingSettlement(CHARGE_0_0031)).toBe(CHARGE_0_0031);
    expect(ceilingSettlement(RELEASE)).toBe(RELEASE);
  });

  test('every settlement names its source for the spend log and the metrics', () => {
    expect(spendSourceOf(CHARGE_0_0031)).toBe('reported');
    expect(spendSourceOf({ kind: 'charge', micros: 1, source: 'estimated' })).toBe('estimated');
    expect(spendSourceOf(KEEP)).toBe('cap_kept');
    expect(spendSourceOf(RELEASE)).toBeUndefined();
  });

  test('"Perf may have billed" alone separates keeping from releasing a failed call', () => {
    const failure: PerfFailure = { kind: 'unreachable', code: 'ECONNRESET' };
    expect(failed(failure, true)).toEqual({ kind: 'ambiguous', why: 'connection_lost' });
    expect(failed(failure, false)).toEqual({ kind: 'refused' });
  });
});
