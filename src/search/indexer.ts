// The word indexer: fills search_docs.words (jieba words of the text) for documents written or changed since, off
// the writer's path, so a case insert never waits for segmentation. Until then a document is found by its bigrams;
// words only add ranking and hot topics. Several processes may run it: rows are taken with SKIP LOCKED.
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { createSegmenter, type Segmenter } from './words';

export function createWordIndexer(deps: { db: Db; logger?: Logger; batch?: number; intervalMs?: number }) {
  const batch = deps.batch ?? 500;
  const intervalMs = deps.intervalMs ?? 2_000;
  let segmenter: Segmenter | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  /** The segmenter with the current category and department names in its dictionary. */
  async function reload(): Promise<Segmenter> {
    const { rows } = await deps.db.query<{ name: string }>(
      `select name from categories union select name from departments`,
    );
    segmenter = createSegmenter(rows.map((r) => r.name));
    return segmenter;
  }

  async function get(): Promise<Segmenter> {
    return segmenter ?? reload();
  }

  /** Segments one batch of pending documents; returns how many were done. */
  async function runOnce(): Promise<number> {
    const seg = await get();
    return deps.db.withTransaction(async (tx) => {
      const { rows } = await deps.db.query<{ id: number; body: string }>(
        `select id, body from search_docs where words is null order by id limit $1 for update skip locked`,
        [batch],
        tx,
      );
      if (!rows.length) return 0;
      const data = rows.map((r) => ({ id: r.id, w: seg.indexWords(r.body) }));
      await deps.db.query(
        `update search_docs d set words = v.w from jsonb_to_recordset($1::jsonb) as v(id bigint, w text[]) where d.id = v.id`,
        [JSON.stringify(data)],
        tx,
      );
      return rows.length;
    });
  }

  async function loop(): Promise<number> {
    let total = 0;
    for (let n = await runOnce(); n > 0; n = await runOnce()) total += n;
    return total;
  }

  /** Runs batches until nothing is pending (after the background run of this process, whose rows it would skip). */
  async function drain(): Promise<number> {
    await running;
    return loop();
  }

  function tick(): void {
    if (stopped || running) return;
    running = loop()
      .catch((err: unknown) => deps.logger?.warn({ err }, 'word indexer failed'))
      .finally(() => {
        running = null;
      });
  }

  return {
    runOnce,
    drain,
    reload,
    segmenter: get,
    start(): void {
      stopped = false;
      timer ??= setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}

export type WordIndexer = ReturnType<typeof createWordIndexer>;
