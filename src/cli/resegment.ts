// npm run search:resegment: after a change of the word dictionary (category or department names, src/search/lexicon.ts),
// segments every indexed document again and rewrites the words (and their index entries) of those that changed.
// Restart the service processes first so that documents written afterwards use the new dictionary too.
import { createDb } from '../infra/db';
import { createWordIndexer } from '../search/indexer';
import { cliConfig, runCli } from './common';

runCli(async () => {
  const { config, logger } = cliConfig();
  const db = createDb({ url: config.databaseUrl, schema: config.dbSchema, max: 1, logger });
  try {
    const indexer = createWordIndexer({ db, logger, batch: 1000 });
    let last = 0;
    const r = await indexer.resegment((scanned, changed) => {
      if (scanned - last >= 100_000) {
        last = scanned;
        process.stderr.write(`已检查 ${scanned} 条，词有变化 ${changed} 条…\n`);
      }
    });
    process.stdout.write(`重新分词完成：检查 ${r.scanned} 条，更新 ${r.changed} 条\n`);
  } finally {
    await db.close();
  }
});
