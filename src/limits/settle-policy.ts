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
  /**
   * Perf answered (200). `costUsd` is what it reported, if it did (streams usually do not);
   * `estimatedUsd`, what a complete answer without a reported cost comes to at the model's known
   * prices (limits/prices.ts), if they are known.
   */
  | { kind: 'answered'; costUsd: number | undefined; estimatedUsd?: number };

/** Where a charge's amount came from: Perf's report, or our estimate of a complete stream. */
export type ChargeSource = 'reported' | 'estimated';

export type Settlement = { kind: 'charge'; micros: number; source: ChargeSource } | { kind: 'keep' } | { kind: 'release' };

export interface SettleTerms {
  /** The call's reservation. */
  capMicros: number;
  /** An estimate is charged × this (STREAM_COST_MARGIN), never more than the cap. */
  streamCostMargin: number;
}

export function settlementFor(outcome: CallOutcome, terms: SettleTerms): Settlement {
  switch (outcome.kind) {
    case 'not_sent':
    case 'refused':
      return { kind: 'release' };
    case 'ambiguous':
      return { kind: 'keep' };
    case 'answered':
      // Charged exactly, even above the cap: Perf's cap is soft, and its bill is what counts.
      if (outcome.costUsd !== undefined) return { kind: 'charge', micros: costToMicros(outcome.costUsd), source: 'reported' };
      // An estimate may be low: it is charged with a margin, and never more than was reserved.
      if (outcome.estimatedUsd !== undefined) {
        const micros = Math.min(terms.capMicros, costToMicros(outcome.estimatedUsd * terms.streamCostMargin));
        return { kind: 'charge', micros, source: 'estimated' };
      }
      return { kind: 'keep' };
  }
}

/**
 * The operator's ceiling (GLOBAL_DAILY_BUDGET_USD) bounds the real bill, so it never counts an
 * estimate: where the user is charged an estimate, the ceiling keeps the whole cap.
 */
export function ceilingSettlement(settlement: Settlement): Settlement {
  return settlement.kind === 'charge' && settlement.source === 'estimated' ? { kind: 'keep' } : settlement;
}

/** What the spend log and the metrics call a settlement's amount. */
export type SpendSource = ChargeSource | 'cap_kept';

export function spendSourceOf(settlement: Settlement): SpendSource | undefined {
  if (settlement.kind === 'charge') return settlement.source;
  return settlement.kind === 'keep' ? 'cap_kept' : undefined;
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
