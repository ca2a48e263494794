// @ts-check
/**
 * The page's one client of perf-bff (perf-bff-client.js, the module other frontends can take).
 * Every answer's X-RateLimit-* headers go to the status line.
 */
import { PerfBffClient } from './perf-bff-client.js';
import { noteRateLimit } from './usage.js';

export const bff = new PerfBffClient({ onRateLimit: (rateLimit) => noteRateLimit(rateLimit) });
