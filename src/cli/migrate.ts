// npm run migrate: applies pending migrations (DATABASE_URL, DB_SCHEMA).
import { migrate } from '../infra/migrate';
import { cliConfig, runCli } from './common';

runCli(async () => {
  const { config, logger } = cliConfig();
  const applied = await migrate(config.databaseUrl, config.dbSchema, logger);
  process.stdout.write(applied.length ? `已执行迁移：\n  ${applied.join('\n  ')}\n` : '数据库已是最新，无需迁移\n');
});
