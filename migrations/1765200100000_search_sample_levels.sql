-- Up Migration

-- Sample levels spaced by 4 (issue 13): a count is estimated from the coarsest level that still holds ~200 matching
-- sample rows, so no estimate reads more than about a thousand rows, however common the keyword. The sampled set
-- (1 in 32) is unchanged; only the levels inside it are finer: 1 (1/32), 2 (1/128), 3 (1/512), 4 (1/2048).
-- search_docs.sample (a stored generated column) keeps its old value until a row is next written, when it is
-- recomputed; it is only read by the trigger that copies a written row into search_sample, so no rewrite is needed.
create or replace function h114_sample_level(id bigint) returns smallint language sql immutable strict parallel safe as $$
  select case when hashint8(id) & 2047 = 0 then 4 when hashint8(id) & 511 = 0 then 3 when hashint8(id) & 127 = 0 then 2
              when hashint8(id) & 31 = 0 then 1 else 0 end::smallint
$$;
update search_sample set level = h114_sample_level(doc_id);
drop index search_sample_vector2_idx;
create index search_sample_vector2_idx on search_sample using gin (tsv) with (fastupdate = off) where level >= 2;
create index search_sample_vector3_idx on search_sample using gin (tsv) with (fastupdate = off) where level >= 3;
create index search_sample_vector4_idx on search_sample using gin (tsv) with (fastupdate = off) where level >= 4;

-- Down Migration
drop index search_sample_vector4_idx;
drop index search_sample_vector3_idx;
create or replace function h114_sample_level(id bigint) returns smallint language sql immutable strict parallel safe as $$
  select case when hashint8(id) & 511 = 0 then 2 when hashint8(id) & 31 = 0 then 1 else 0 end::smallint
$$;
update search_sample set level = h114_sample_level(doc_id);
