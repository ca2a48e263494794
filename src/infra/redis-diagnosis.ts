/**
 * What a Redis connection failure means for the operator: which setting to check, said in one
 * sentence that names the server (host and port, never the password in REDIS_URL).
 */
export interface RedisDiagnosis {
  /** The setting that fixes it, when one does. */
  setting: 'REDIS_URL' | 'REDIS_TLS_REJECT_UNAUTHORIZED' | undefined;
  /** A reconnect that is expected now and then (idle timeouts, failovers), rather than a misconfiguration. */
  transient: boolean;
  message: string;
}

const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/** host:port of a redis:// or rediss:// URL, without its credentials. */
export function redisTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
  } catch {
    return 'REDIS_URL';
  }
}

export function diagnoseRedisError(err: unknown, url: string): RedisDiagnosis {
  const target = redisTarget(url);
  const code = (err as { code?: unknown }).code;
  const text = err instanceof Error ? err.message : String(err);
  const misconfigured = (setting: RedisDiagnosis['setting'], message: string): RedisDiagnosis => ({ setting, transient: false, message });

  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return misconfigured(
      'REDIS_TLS_REJECT_UNAUTHORIZED',
      `the TLS certificate of ${target} is not signed by a trusted authority (${code}). Heroku Key-Value Store and some other hosts use a self-signed one: set REDIS_TLS_REJECT_UNAUTHORIZED=false (the connection stays encrypted, the server is not authenticated).`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return misconfigured('REDIS_URL', `the TLS certificate of ${target} does not fit (${code}): check the host name in REDIS_URL.`);
  }
  if (/wrong version number|packet length too long|EPROTO/i.test(`${text} ${String(code)}`)) {
    return misconfigured(
      'REDIS_URL',
      `${target} does not speak TLS the way REDIS_URL says: use redis:// for a plain port, rediss:// for a TLS one.`,
    );
  }
  if (/WRONGPASS|invalid username-password/i.test(text)) {
    return misconfigured(
      'REDIS_URL',
      `${target} refused the password: check the user and password in REDIS_URL (redis://user:password@host:port).`,
    );
  }
  if (/NOAUTH/i.test(text)) {
    return misconfigured('REDIS_URL', `${target} needs a password: put it in REDIS_URL (redis://:password@host:port).`);
  }
  if (/AUTH.*without any password configured/i.test(text)) {
    return misconfigured('REDIS_URL', `${target} has no password, but REDIS_URL gives one: remove it from REDIS_URL.`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return misconfigured('REDIS_URL', `the host of ${target} is not known (${code}): check the host in REDIS_URL.`);
  }
  if (code === 'ECONNREFUSED') {
    return misconfigured(
      'REDIS_URL',
      `nothing accepts connections at ${target} (ECONNREFUSED): check the host and port in REDIS_URL, and that Redis is running.`,
    );
  }
  if (code === 'ETIMEDOUT' || (err instanceof Error && (err.name === 'ConnectionTimeoutError' || err.name === 'StoreTimeoutError'))) {
    return misconfigured(
      'REDIS_URL',
      `${target} did not answer in time: check REDIS_URL, and that this host may reach it (firewall, network).`,
    );
  }
  // The socket closed under an established connection: an idle timeout, a restart, a failover.
  return { setting: undefined, transient: true, message: `the connection to ${target} was lost (${text}); reconnecting.` };
}
