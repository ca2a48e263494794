import { outcomeOf } from '../src/chat/upstream-failure';
import type { SettleOutcome } from '../src/limits/admission';
import { settlementFor } from '../src/limits/settle-policy';
import type { CallOutcome } from '../src/limits/settle-policy';
import { PerfCallError } from '../src/perf/failure';
import type { PerfFailure } from '../src/perf/failure';

/** A failed call as the Perf client reports it, turned into the outcome the money rule reads. */
const failed = (failure: PerfFailure, perfMayHaveBilled: boolean, attempts = 1): CallOutcome =>
  outcomeOf(new PerfCallError(failure, perfMayHaveBilled, attempts));
const CHARGE_0_0031: SettleOutcome = { kind: 'charge', micros: 3100 };
const KEEP: SettleOutcome = { kind: 'keep' };
const RELEASE: SettleOutcome = { kind: 'release' };

// One row per situation, grouped as the README's money table groups them (its three rows).
const table: [string, CallOutcome, SettleOutcome][] = [
  // "Perf answered and reported perf.cost_usd: charges exactly that, also above the cap, and releases the rest"
  ['a JSON answer reporting its cost', { kind: 'answered', costUsd: 0.0031 }, CHARGE_0_0031],
  ['a stream whose final chunk reports its cost', { kind: 'answered', costUsd: 0.0031 }, CHARGE_0_0031],
  ["an answer reporting more than the cap (Perf's cap is soft)", { kind: 'answered', costUsd: 25 }, { kind: 'charge', micros: 25_000_000 }],
  ['an answer reporting a cost of zero', { kind: 'answered', costUsd: 0 }, { kind: 'charge', micros: 0 }],
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
    expect(settlementFor(outcome)).toEqual(expected);
  });

  test('"Perf may have billed" alone separates keeping from releasing a failed call', () => {
    const failure: PerfFailure = { kind: 'unreachable', code: 'ECONNRESET' };
    expect(failed(failure, true)).toEqual({ kind: 'ambiguous', why: 'connection_lost' });
    expect(failed(failure, false)).toEqual({ kind: 'refused' });
  });
});
