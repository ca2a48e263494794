import type { SettleOutcome } from './admission';
import { costToMicros } from './money';

/**
 * The money rule, in one place: how a call to Perf ended decides what its reservation becomes.
 * The relays and the Perf client only describe what happened; this decides what it costs.
 *
 * "Perf may have billed" is the one question: once a request may have reached Perf without a
 * definite failure status back, Perf may finish the work and bill for it whatever we do, so
 * the cap is kept. (Handing it back on a timeout would let anyone make costly calls time out on
 * purpose and never pay.) Only what Perf never did is handed back.
 */
export type CallOutcome =
  /** Nothing went to Perf: the browser left first, or we failed before sending. */
  | { kind: 'not_sent'; why: 'client_gone' | 'internal_error' }
  /** Every attempt ended in a failure status or a refused connection: Perf did no work. */
  | { kind: 'refused'; status?: number }
  /** An attempt may have reached Perf with no definite answer back: Perf may have billed. */
  | { kind: 'ambiguous'; why: 'timeout' | 'connection_lost' | 'client_gone' | 'internal_error' }
  /** Perf answered (200). `costUsd` is what it reported, if it did (streams usually do not). */
  | { kind: 'answered'; costUsd: number | undefined };

export function settlementFor(outcome: CallOutcome): SettleOutcome {
  switch (outcome.kind) {
    case 'not_sent':
    case 'refused':
      return { kind: 'release' };
    case 'ambiguous':
      return { kind: 'keep' };
    case 'answered':
      // Charged exactly, even above the cap: Perf's cap is soft, and its bill is what counts.
      return outcome.costUsd === undefined ? { kind: 'keep' } : { kind: 'charge', micros: costToMicros(outcome.costUsd) };
  }
}

/** Short words for the request log line. */
export function describeOutcome(outcome: CallOutcome): string {
  switch (outcome.kind) {
    case 'not_sent':
      return outcome.why === 'client_gone' ? 'client_gone' : 'not_sent';
    case 'refused':
      return 'refused';
    case 'ambiguous':
      return outcome.why;
    case 'answered':
      return 'answered';
  }
}
