import type { Logger } from '../infra/logger';
import type { Ledger, SettleOutcome } from '../limits/ledger';
import { costToMicros } from '../limits/money';

/**
 * Closes one reservation exactly once. A failure to settle is logged and otherwise ignored:
 * the reservation then simply stays charged, which errs on the side of the budget.
 */
export class Settlement {
  private settledAs: SettleOutcome['kind'] | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly user: string,
    private readonly reservationId: string,
    private readonly logger: Logger,
  ) {}

  get outcome(): SettleOutcome['kind'] | undefined {
    return this.settledAs;
  }

  /** Perf's reported cost is charged exactly; without one the whole reservation stays charged. */
  settleFromCost(costUsd: number | undefined): Promise<void> {
    return this.settle(costUsd === undefined ? { kind: 'keep' } : { kind: 'charge', micros: costToMicros(costUsd) });
  }

  async settle(outcome: SettleOutcome): Promise<void> {
    if (this.settledAs !== undefined) return;
    this.settledAs = outcome.kind;
    try {
      await this.ledger.settle(this.user, this.reservationId, outcome);
    } catch (err) {
      this.logger.error({ err: { message: (err as Error).message }, outcome: outcome.kind }, 'could not settle a reservation; it stays charged');
    }
  }
}
