import { randomBytes } from 'node:crypto';

/**
 * Ids unique across every instance and restart without a random draw per id: 96 random bits drawn
 * once per process, then a counter. Each id names one request or one reservation; none is a
 * secret (they appear in logs and headers), so they need not be unpredictable, only distinct.
 */
export function uniqueIds(): () => string {
  const processPart = randomBytes(12).toString('base64url');
  let counter = 0;
  return () => {
    counter += 1;
    return `${processPart}${counter.toString(36)}`;
  };
}
