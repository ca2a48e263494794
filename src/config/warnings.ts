import type { Config } from './config';
import type { Env } from './settings';

/**
 * Settings that are valid but probably not what the operator means: said in the log at start
 * (loudly: each is about who is who, or who may call).
 */
export function configWarnings(config: Config, env: Env): string[] {
  const warnings: string[] = [];
  if (config.production && env.DYNO !== undefined && config.trustProxy === 0) {
    warnings.push(
      'TRUST_PROXY=0 on Heroku (DYNO is set): every request seems to come from the router, so the sign-in throttles count all clients as one. Set TRUST_PROXY=1.',
    );
  }
  if (config.production && config.publicUrl === undefined) {
    warnings.push(
      "PUBLIC_URL is not set: the cross-site guard takes this app's own origin from each request's Host header. Set PUBLIC_URL=https://<your app's domain>.",
    );
  }
  if (env.PLANS_FILE !== undefined && env.PLANS_FILE !== '') {
    const ignored = ['RATE_LIMIT_REQUESTS', 'RATE_LIMIT_WINDOW_SECONDS', 'DAILY_BUDGET_USD', 'MAX_COST_PER_CALL', 'ALLOWED_MODELS'].filter(
      (name) => (env[name] ?? '') !== '',
    );
    if (ignored.length > 0)
      warnings.push(`${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} not used with PLANS_FILE: each plan has its own.`);
  }
  return warnings;
}
