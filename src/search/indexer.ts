// The word indexer: fills search_docs.words (jieba words of the text) for documents written or changed since, off
// the writer's path, so a case insert never waits for segmentation. Until then a document is found by its bigrams;
// words only add ranking and hot topics. Several processes may run it: at worst they segment a row twice.
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { periodic } from '../infra/periodic';
import { createSegmenter, type Segmenter } from './words';

export function createWordIndexer(deps: { db: Db; logger?: Logger; batch?: number; intervalMs?: number; flushMs?: number }) {
  const batch = deps.batch ?? 500;
  const intervalMs = deps.intervalMs ?? 2_000;
  const flushMs = deps.flushMs ?? 1_000;
  let segmenter: Segmenter | null = null;

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

  /**
   * Segments one batch of pending documents; returns how many were taken. No row lock is held while segmenting
   * (a writer updating the same case never waits for jieba): the update applies only where the text is still the
   * one that was segmented (same md5), else the row stays pending for the next round.
   */
  async function runOnce(): Promise<number> {
    const seg = await get();
    const { rows } = await deps.db.query<{ id: number; body: string; h: string }>(
      `select id, body, md5(body) as h from search_docs where words is null order by id limit $1`,
      [batch],
    );
    if (!rows.length) return 0;
    const data = rows.map((r) => ({ id: r.id, h: r.h, w: seg.indexWords(r.body) }));
    await deps.db.query(
      `update search_docs d set words = v.w from jsonb_to_recordset($1::jsonb) as v(id bigint, h text, w text[])
        where d.id = v.id and d.words is null and md5(d.body) = v.h`,
      [JSON.stringify(data)],
    );
    // Rows changed meanwhile stay pending and come back with their new text in a later batch.
    return rows.length;
  }

  /**
   * After a dictionary change (category or department names, lexicon.ts): segments every document again with the
   * current dictionary and rewrites only the rows whose words changed (their index entries with them). In id order,
   * `batch` rows at a time, each update guarded like runOnce (a row whose text changed meanwhile is left for the
   * indexer). Processes that are running keep their dictionary until restarted.
   */
  async function resegment(onBatch?: (scanned: number, changed: number) => void): Promise<{ scanned: number; changed: number }> {
    const seg = await reload();
    let scanned = 0;
    let changed = 0;
    for (let after = 0; ; ) {
      const { rows } = await deps.db.query<{ id: number; body: string; h: string; words: string[] | null }>(
        `select id, body, md5(body) as h, words from search_docs where id > $1 order by id limit $2`,
        [after, batch],
      );
      if (!rows.length) break;
      after = Number(rows[rows.length - 1]!.id);
      scanned += rows.length;
      const data = rows
        .map((r) => ({ id: r.id, h: r.h, w: seg.indexWords(r.body), old: r.words }))
        .filter((r) => r.old === null || r.old.length !== r.w.length || r.old.some((x, i) => x !== r.w[i]))
        .map(({ id, h, w }) => ({ id, h, w }));
      if (data.length) {
        const res = await deps.db.query(
          `update search_docs d set words = v.w from jsonb_to_recordset($1::jsonb) as v(id bigint, h text, w text[])
            where d.id = v.id and md5(d.body) = v.h and d.words is distinct from v.w`,
          [JSON.stringify(data)],
        );
        changed += res.rowCount ?? 0;
      }
      onBatch?.(scanned, changed);
    }
    return { scanned, changed };
  }

  /**
   * Moves the entries writers left in the GIN index's pending list (migration 1766100100000: fastupdate on, so an
   * insert appends its ~150 entries to one list instead of updating ~150 index pages) into the index proper. Run
   * every flushMs and after each batch of words, so that the list stays short for the searches that read it and no
   * writer ever fills it up (the writer that does pays for merging it). Concurrent calls from several processes
   * wait for each other in PostgreSQL.
   */
  async function flushPending(): Promise<number> {
    const { rows } = await deps.db.query<{ n: string }>(`select gin_clean_pending_list('search_docs_vector_idx'::regclass) as n`);
    return Number(rows[0]!.n);
  }

  async function loop(): Promise<number> {
    let total = 0;
    for (let n = await runOnce(); n > 0; n = await runOnce()) {
      total += n;
      await flushPending();
    }
    return total;
  }

  /** Runs batches until nothing is pending (after the background run of this process, whose rows it would skip). */
  async function drain(): Promise<number> {
    await words.current;
    return loop();
  }

  const words = periodic(loop, intervalMs, (err) => deps.logger?.warn({ err }, 'word indexer failed'));
  const flush = periodic(flushPending, flushMs, (err) => deps.logger?.warn({ err }, 'search index pending-list flush failed'));

  return {
    runOnce,
    flushPending,
    drain,
    resegment,
    reload,
    segmenter: get,
    start(): void {
      words.start();
      flush.start();
    },
    async stop(): Promise<void> {
      await Promise.all([words.stop(), flush.stop()]);
    },
  };
}

export type WordIndexer = ReturnType<typeof createWordIndexer>;
