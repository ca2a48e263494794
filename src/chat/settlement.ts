import type { Logger } from '../infra/logger';
import type { Ledger, SettleOutcome } from '../limits/ledger';

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

  get done(): boolean {
    return this.settledAs !== undefined;
  }

  get outcome(): SettleOutcome['kind'] | undefined {
    return this.settledAs;
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
