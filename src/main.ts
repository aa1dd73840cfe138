// Process entry: config → buildApp → listen → graceful shutdown on SIGTERM/SIGINT.
import { loadConfig, ConfigError } from './config';
import { createLogger } from './infra/logger';
import { buildApp } from './app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, undefined, { format: config.logFormat });
  const app = await buildApp({ config, logger });
  await app.fastify.listen({ host: config.http.host, port: config.http.port });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 15 s, exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    app
      .close()
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  // Logger may not exist yet: plain stderr, no stack of secrets (config errors are handled above).
  process.stderr.write(`hotline114 failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
