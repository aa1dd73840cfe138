// Shared start-up for command-line tools: config (readable errors), logger, exit codes.
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger, type Logger } from '../infra/logger';

export function cliConfig(): { config: Config; logger: Logger } {
  try {
    const config = loadConfig();
    // CLIs print their results; the logger only reports warnings unless LOG_LEVEL asks for more.
    const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn', undefined, { format: config.logFormat });
    return { config, logger };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export function runCli(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`错误：${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
