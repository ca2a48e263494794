import pino from 'pino';
import type { Logger, DestinationStream } from 'pino';

export type { Logger };

/**
 * JSON lines, metadata only. Credentials are redacted wherever they might appear, as a second
 * line of defence: the request serializers below never copy headers or bodies in the first place.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'perf-bff' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers.cookie',
          '*.password',
          'password',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
