import 'dotenv/config';
import { compose } from './compose';
import { ConfigError, loadConfig } from './config';
import type { Config } from './config';
import { createLogger } from './infra/logger';
import { preloadTokenizer } from './perf/token-count';
import { serve } from './serve';

/** The process: settings, the composition, the listening server, and the signals that stop it. */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  const composition = await compose(config, logger);
  // The tokenizer's tables (for stream estimates) load now, not during the first stream's settlement.
  preloadTokenizer();
  const running = await serve(composition, { port: config.port, shutdownTimeoutMs: config.shutdownTimeoutMs });
  const port = Number(new URL(running.url).port);
  logger.info(
    { port, mode: composition.stores.mode, perf: composition.standIn === undefined ? 'perf' : 'stand-in' },
    `perf-bff listening on http://localhost:${port}`,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: { message: (err as Error).message } }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`perf-bff cannot start.\n${err.message}\nSee .env.example for every setting.\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`perf-bff failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
