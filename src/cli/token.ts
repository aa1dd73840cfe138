// npm run token -- <username> [label]: issues a bearer token for an existing user and prints it (shown only once).
import { createAuthService } from '../auth/service';
import { createDb } from '../infra/db';
import { cliConfig, runCli } from './common';

runCli(async () => {
  const [username, label] = process.argv.slice(2);
  if (!username) throw new Error('用法：npm run token -- <用户名> [备注]');
  const { config, logger } = cliConfig();
  const db = createDb({ url: config.databaseUrl, schema: config.dbSchema, max: 1, logger });
  try {
    const auth = createAuthService({ db, logger });
    const issued = await auth.issueTokenForUsername(username, label ?? 'cli');
    process.stderr.write(`已为 ${issued.user.displayName}（${issued.user.username}，${issued.user.role}）签发令牌 #${issued.id}：\n`);
    process.stdout.write(`${issued.token}\n`);
  } finally {
    await db.close();
  }
});
