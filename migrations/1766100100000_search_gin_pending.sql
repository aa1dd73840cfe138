-- Up Migration

-- Insert cost (issue 13): with fastupdate off every insert updated ~150 GIN pages (one per lexeme: bigrams, words,
-- phone windows, dimensions) in the writer's transaction, with their WAL (full-page images after a checkpoint) —
-- p99 ~15 ms on a loaded machine. With fastupdate on, an insert appends its entries to the index's pending list (a
-- page or two); the word indexer of every process moves them into the index proper every second
-- (gin_clean_pending_list), off the writers' path. Searches read the pending list too, so nothing written is ever
-- missing from a search; the list stays short (about a second of writes) because it is emptied that often. The limit
-- only matters if no process empties it: then the insert that fills it merges it (as autovacuum would).
alter index search_docs_vector_idx set (fastupdate = on, gin_pending_list_limit = 1024);

-- Down Migration
select gin_clean_pending_list('search_docs_vector_idx'::regclass);
alter index search_docs_vector_idx set (fastupdate = off);
alter index search_docs_vector_idx reset (gin_pending_list_limit);
