import type { Logger } from '../infra/logger';

/**
 * Says so, once per crossing, when the operator's ceiling on the whole bill gets close (80%) and
 * when it is reached (calls are then refused with 503 service_budget_exhausted). Each instance
 * watches what its own admissions see; the gauge shows the last reading.
 */
export class GlobalBudgetWatch {
  private level: 0 | 80 | 100 = 0;

  constructor(
    private readonly logger: Logger,
    private readonly gauge?: (ratio: number) => void,
  ) {}

  /** After an admission: what the global budget holds now. `refused`: it had no room for a call. */
  observe(usedMicros: number, budgetMicros: number, refused: boolean): void {
    const ratio = Math.min(usedMicros / budgetMicros, 1);
    this.gauge?.(refused ? 1 : ratio);
    const level = refused || ratio >= 1 ? 100 : ratio >= 0.8 ? 80 : 0;
    if (level > this.level) {
      const fields = { used_usd: usedMicros / 1e6, budget_usd: budgetMicros / 1e6 };
      if (level === 100)
        this.logger.error(fields, 'GLOBAL_DAILY_BUDGET_USD reached: chats are refused with 503 until earlier spend leaves the 24 h window');
      else this.logger.warn(fields, 'GLOBAL_DAILY_BUDGET_USD is 80% spent');
    }
    this.level = level;
  }
}
