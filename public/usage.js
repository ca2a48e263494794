// @ts-check
/**
 * The status line in the top bar: requests left in the rate-limit window and budget left, from
 * GET /api/usage and the X-RateLimit-* headers of every answer.
 */
import { bff } from './bff.js';
import { ui } from './dom.js';
import { page } from './page-state.js';
import { PerfBffError } from './perf-bff-client.js';
import { passwordChangeRequired, sessionEnded } from './views.js';

/** @import { RateLimit, Usage } from './perf-bff-client.js' */

/** @type {RateLimit | null} */
let rate = null;
/** @type {Usage['budget'] | null} */
let budget = null;

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** @param {RateLimit} rateLimit the X-RateLimit-* headers of an answer */
export function noteRateLimit(rateLimit) {
  if (!page.signedIn) return;
  rate = rateLimit;
  renderStatus();
}

export async function refreshUsage() {
  if (!page.signedIn) return;
  try {
    const usage = await bff.usage();
    if (!page.signedIn) return;
    rate = usage.rate_limit;
    budget = usage.budget;
    renderStatus();
  } catch (err) {
    if (err instanceof PerfBffError && err.status === 401) sessionEnded();
    else if (err instanceof PerfBffError && err.type === 'password_change_required') passwordChangeRequired();
    // Otherwise the status line is a courtesy: a failed refresh keeps the last known numbers.
  }
}

/** Forgets the numbers on sign-out: the next person must not see them. */
export function forgetUsage() {
  rate = null;
  budget = null;
  renderStatus();
}

/** Seconds until the rate-limit window resets, or undefined when unknown or already past. */
export function secondsUntilReset() {
  const unixSeconds = rate?.reset;
  if (unixSeconds === undefined) return undefined;
  const left = Math.ceil(unixSeconds - Date.now() / 1000);
  return left > 0 ? left : undefined;
}

function renderStatus() {
  /** @type {string[]} */
  const parts = [];
  if (rate !== null) {
    const at = new Date(rate.reset * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    parts.push(rate.remaining > 0 ? `${rate.remaining} of ${rate.limit} requests left` : `No requests left until ${at}`);
  }
  if (budget !== null) {
    parts.push(
      budget.limit_usd === null || budget.remaining_usd === null
        ? 'no spending limit'
        : `${money.format(budget.remaining_usd)} of ${money.format(budget.limit_usd)} budget left`,
    );
  }
  ui.status.textContent = parts.join(' · ');
}
