-- Up Migration

-- Search at city scale (issue 13). Everything a query filters on is a lexeme of one GIN index, so a keyword plus
-- filters is answered inside the index and the heap is read only for the matches:
--   供暖 …            overlapping CJK bigrams and ASCII words / digit runs of the text (as before)
--   f:供暖             bigrams of the "field" text: title, category name (and parent), knowledge tags — ranking
--   w:供暖             words of the text (jieba with the hotline dictionary), filled in asynchronously by the word
--                      indexer; a document is searchable by bigrams at once, words only add ranking and hot topics
--   p:1234             every 4 consecutive digits of the caller / contact numbers (partial phone numbers)
--   t:case c:12 d:3 s:closed ch:phone m:202611    doc type, category, department, status, channel, month (UTC)
-- Counts: a deterministic sample (search_sample, 1/32 of the documents, 1/512 at level 2) with its own small GIN
-- indexes answers "about how many" in milliseconds; exact counts are computed only where they are cheap (below a
-- threshold) or on demand. The per-keyword exact aggregates of the previous design (built on first search under a
-- table lock, maintained in every writer's transaction) are dropped: they made the first search and some inserts slow.

drop trigger search_docs_hot on search_docs;
drop function h114_search_docs_hot();
drop function h114_search_hot_apply(search_docs, int);
drop table search_hot_counts, search_hot_queries;

-- Sample level of a document: 0 (not sampled), 1 (1 in 32), 2 (1 in 512; level 2 ⊂ level 1). From a hash of the id,
-- so it is independent of time, topic and every filter.
create function h114_sample_level(id bigint) returns smallint language sql immutable strict parallel safe as $$
  select case when hashint8(id) & 511 = 0 then 2 when hashint8(id) & 31 = 0 then 1 else 0 end::smallint
$$;

create function h114_search_doc_vector(
  body text, field_text text, phones text, words text[], doc_type text, category_id int, department_id int,
  status text, channel text, created_at timestamptz
) returns tsvector language sql immutable parallel safe cost 8000 as $$
  select array_to_tsvector(array(select distinct tok from (
    select unnest(tsvector_to_array(h114_search_vector(coalesce(body, '')))) as tok
    union all select 'f:' || x from unnest(tsvector_to_array(h114_search_vector(coalesce(field_text, '')))) x
    union all select 'w:' || lower(w) from unnest(coalesce(words, '{}'::text[])) w where w <> ''
    union all select 'p:' || substr(d, i, 4)
      from regexp_split_to_table(coalesce(phones, ''), '\s+') d, generate_series(1, length(d) - 3) i
     where d ~ '^[0-9]{4,}$'
    union all select 't:' || doc_type
    union all select 'c:' || category_id where category_id is not null
    union all select 'd:' || department_id where department_id is not null
    union all select 's:' || status where status is not null
    union all select 'ch:' || channel where channel is not null
    union all select 'm:' || (extract(year from created_at at time zone 'UTC') * 100 + extract(month from created_at at time zone 'UTC'))::int
  ) s where tok <> ''))
$$;

alter table search_docs drop column tsv;
alter table search_docs add column field_text text not null default '';
-- Caller and contact numbers (digits only, space separated): the 4-digit windows go into the vector.
alter table search_docs add column phones text not null default '';
-- jieba words of title + body; null until the word indexer has seen the current text.
alter table search_docs add column words text[];
alter table search_docs add column sample smallint generated always as (h114_sample_level(id)) stored;
alter table search_docs add column tsv tsvector generated always as (
  h114_search_doc_vector(body, field_text, phones, words, doc_type, category_id, department_id, status, channel, created_at)
) stored;
alter table search_docs alter column tsv set storage external;
-- fastupdate off: each insert pays its ~100 index entries (about a millisecond) instead of an occasional writer
-- paying for flushing the whole pending list (tens to hundreds of ms), and searches never scan a pending list.
create index search_docs_vector_idx on search_docs using gin (tsv) with (fastupdate = off);
create index search_docs_words_pending_idx on search_docs (id) where words is null;

-- The sample: a compact copy of the sampled documents (so counting it reads few pages), kept by a trigger.
create table search_sample (
  doc_id     bigint primary key references search_docs(id) on delete cascade,
  level      smallint not null,
  created_at timestamptz not null,
  doc_type   text not null,
  category_id int,
  department_id int,
  status     text,
  channel    text,
  body       text not null,
  phones     text not null,
  caller_number text,
  tsv        tsvector not null
);
create index search_sample_vector_idx on search_sample using gin (tsv) with (fastupdate = off);
create index search_sample_vector2_idx on search_sample using gin (tsv) with (fastupdate = off) where level >= 2;

create function h114_search_sample_sync() returns trigger language plpgsql as $$
begin
  if new.sample = 0 then return null; end if;
  insert into search_sample as s (doc_id, level, created_at, doc_type, category_id, department_id, status, channel, body, phones,
                                  caller_number, tsv)
  values (new.id, new.sample, new.created_at, new.doc_type, new.category_id, new.department_id, new.status, new.channel, new.body,
          new.phones, new.caller_number, new.tsv)
  on conflict (doc_id) do update
     set created_at = excluded.created_at, doc_type = excluded.doc_type, category_id = excluded.category_id,
         department_id = excluded.department_id, status = excluded.status, channel = excluded.channel, body = excluded.body,
         phones = excluded.phones, caller_number = excluded.caller_number, tsv = excluded.tsv;
  return null;
end $$;
create trigger search_docs_sample after insert or update on search_docs
  for each row execute function h114_search_sample_sync();

-- Source tables → search_docs, now with the field text (title, category and its parent) and all phone numbers.
create function h114_category_path(cat int) returns text language sql stable as $$
  select coalesce((select coalesce(p.name || ' ', '') || c.name from categories c left join categories p on p.id = c.parent_id
                    where c.id = cat), '')
$$;

create or replace function h114_search_sync_note() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'note' and src_id = old.id;
    return null;
  end if;
  insert into search_docs as s (src, src_id, doc_type, call_id, title, body, field_text, phones, category_id, department_id, status,
                                channel, caller_number, created_at)
  select 'note', new.id, 'call', new.call_id, '通话小结', new.content || coalesce(E'\n' || nullif(k.caller_number, ''), ''),
         h114_category_path(new.category_id), coalesce(regexp_replace(k.caller_number, '\D', '', 'g'), ''),
         new.category_id, null,
         case when new.resolved then 'resolved_on_phone' else 'noted' end, 'phone', nullif(k.caller_number, ''), new.created_at
    from calls k where k.id = new.call_id
  on conflict (src, src_id) do update
     set body = excluded.body, field_text = excluded.field_text, phones = excluded.phones, category_id = excluded.category_id,
         status = excluded.status, caller_number = excluded.caller_number, call_id = excluded.call_id,
         words = case when s.body = excluded.body and s.field_text = excluded.field_text then s.words end;
  return null;
end $$;

create or replace function h114_search_sync_case() returns trigger language plpgsql as $$
declare
  v_caller text;
  v_phone text;
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'case' and src_id = old.id;
    return null;
  end if;
  -- Cheap exit for updates that change nothing the index holds (SLA fields, signatures …).
  if tg_op = 'UPDATE' and old.title = new.title and old.description = new.description and old.reply is not distinct from new.reply
     and old.status = new.status and old.channel = new.channel and old.category_id is not distinct from new.category_id
     and old.department_id is not distinct from new.department_id and old.contact_phone is not distinct from new.contact_phone
     and old.caller_id is not distinct from new.caller_id and old.call_id is not distinct from new.call_id then
    return null;
  end if;
  v_caller := (select number from callers where id = new.caller_id);
  v_phone := coalesce(nullif(new.contact_phone, ''), v_caller);
  insert into search_docs as s (src, src_id, doc_type, call_id, title, body, field_text, phones, category_id, department_id, status,
                                channel, caller_number, created_at)
  values ('case', new.id, case when new.channel in ('web', 'open311') then 'request' else 'case' end, new.call_id,
          coalesce(nullif(new.title, ''), left(new.description, 40)),
          new.title || E'\n' || new.description || coalesce(E'\n' || new.reply, '') || E'\n' || new.tracking_no
            || coalesce(E'\n' || v_phone, ''),
          coalesce(nullif(new.title, ''), left(new.description, 40)) || ' ' || h114_category_path(new.category_id),
          trim(coalesce(regexp_replace(new.contact_phone, '\D', '', 'g'), '') || ' '
               || coalesce(regexp_replace(v_caller, '\D', '', 'g'), '')),
          new.category_id, new.department_id, new.status, new.channel, v_phone, new.created_at)
  on conflict (src, src_id) do update
     set doc_type = excluded.doc_type, title = excluded.title, body = excluded.body, field_text = excluded.field_text,
         phones = excluded.phones, category_id = excluded.category_id, department_id = excluded.department_id,
         status = excluded.status, channel = excluded.channel, caller_number = excluded.caller_number, call_id = excluded.call_id,
         words = case when s.body = excluded.body and s.field_text = excluded.field_text then s.words end;
  return null;
end $$;

create or replace function h114_search_sync_knowledge() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'knowledge' and src_id = old.id;
    return null;
  end if;
  insert into search_docs as s (src, src_id, doc_type, title, body, field_text, category_id, department_id, status, channel, created_at)
  values ('knowledge', new.id, 'knowledge', new.title,
          new.title || E'\n' || array_to_string(new.tags, ' ') || E'\n' || new.body,
          new.title || ' ' || array_to_string(new.tags, ' ') || ' ' || h114_category_path(new.category_id),
          new.category_id, new.department_id, new.status, null, new.created_at)
  on conflict (src, src_id) do update
     set title = excluded.title, body = excluded.body, field_text = excluded.field_text, category_id = excluded.category_id,
         department_id = excluded.department_id, status = excluded.status,
         words = case when s.body = excluded.body and s.field_text = excluded.field_text then s.words end;
  return null;
end $$;

-- Existing rows: field text and phone numbers as the triggers now write them.
update search_docs d set field_text = coalesce(nullif(c.title, ''), left(c.description, 40)) || ' ' || h114_category_path(c.category_id),
                         phones = trim(coalesce(regexp_replace(c.contact_phone, '\D', '', 'g'), '') || ' '
                                  || coalesce((select regexp_replace(number, '\D', '', 'g') from callers where id = c.caller_id), ''))
  from cases c where d.src = 'case' and c.id = d.src_id;
update search_docs d set field_text = h114_category_path(n.category_id), phones = coalesce(regexp_replace(k.caller_number, '\D', '', 'g'), '')
  from call_notes n join calls k on k.id = n.call_id where d.src = 'note' and n.id = d.src_id;
update search_docs d set field_text = k.title || ' ' || array_to_string(k.tags, ' ') || ' ' || h114_category_path(k.category_id)
  from knowledge_articles k where d.src = 'knowledge' and k.id = d.src_id;
insert into search_sample (doc_id, level, created_at, doc_type, category_id, department_id, status, channel, body, phones, caller_number, tsv)
select id, sample, created_at, doc_type, category_id, department_id, status, channel, body, phones, caller_number, tsv
  from search_docs where sample > 0
on conflict (doc_id) do nothing;

-- 并单: the residents of merged cases become contacts of the surviving case, with the callback (回访) duty.
create table case_contacts (
  id            bigserial primary key,
  case_id       bigint not null references cases(id) on delete cascade,
  from_case_id  bigint not null references cases(id),
  name          text,
  phone         text,
  caller_id     int references callers(id),
  callback_done_at timestamptz,
  created_at    timestamptz not null default now(),
  unique (case_id, from_case_id)
);
create index case_contacts_case_idx on case_contacts(case_id);
alter table case_callbacks add column contact_id bigint references case_contacts(id);

-- Down Migration
-- Back to the state after 1764600000000_search.sql: its trigger functions, its vector (bigrams of the body only) and
-- its (empty) per-keyword hot tables, so that its own down migration and every writer work again.
alter table case_callbacks drop column contact_id;
drop table case_contacts;
drop trigger search_docs_sample on search_docs;
drop function h114_search_sample_sync();
drop table search_sample;
drop index search_docs_words_pending_idx;
alter table search_docs drop column tsv;
alter table search_docs drop column sample, drop column words, drop column phones, drop column field_text;
alter table search_docs add column tsv tsvector generated always as (h114_search_vector(body)) stored;
alter table search_docs alter column tsv set storage external;
create index search_docs_vector_idx on search_docs using gin (tsv);
drop function h114_search_doc_vector(text, text, text, text[], text, int, int, text, text, timestamptz);
drop function h114_sample_level(bigint);

create or replace function h114_search_sync_note() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'note' and src_id = old.id;
    return null;
  end if;
  insert into search_docs as s (src, src_id, doc_type, call_id, title, body, category_id, department_id, status, channel,
                                caller_number, created_at)
  select 'note', new.id, 'call', new.call_id, '通话小结', new.content || coalesce(E'\n' || nullif(k.caller_number, ''), ''),
         new.category_id, null,
         case when new.resolved then 'resolved_on_phone' else 'noted' end, 'phone', nullif(k.caller_number, ''), new.created_at
    from calls k where k.id = new.call_id
  on conflict (src, src_id) do update
     set body = excluded.body, category_id = excluded.category_id, status = excluded.status,
         caller_number = excluded.caller_number, call_id = excluded.call_id;
  return null;
end $$;

create or replace function h114_search_sync_case() returns trigger language plpgsql as $$
declare
  v_phone text;
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'case' and src_id = old.id;
    return null;
  end if;
  v_phone := coalesce(nullif(new.contact_phone, ''), (select number from callers where id = new.caller_id));
  insert into search_docs as s (src, src_id, doc_type, call_id, title, body, category_id, department_id, status, channel,
                                caller_number, created_at)
  values ('case', new.id, case when new.channel in ('web', 'open311') then 'request' else 'case' end, new.call_id,
          coalesce(nullif(new.title, ''), left(new.description, 40)),
          new.title || E'\n' || new.description || coalesce(E'\n' || new.reply, '') || E'\n' || new.tracking_no
            || coalesce(E'\n' || v_phone, ''),
          new.category_id, new.department_id, new.status, new.channel, v_phone, new.created_at)
  on conflict (src, src_id) do update
     set doc_type = excluded.doc_type, title = excluded.title, body = excluded.body, category_id = excluded.category_id,
         department_id = excluded.department_id, status = excluded.status, channel = excluded.channel,
         caller_number = excluded.caller_number, call_id = excluded.call_id;
  return null;
end $$;

create or replace function h114_search_sync_knowledge() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    delete from search_docs where src = 'knowledge' and src_id = old.id;
    return null;
  end if;
  insert into search_docs as s (src, src_id, doc_type, title, body, category_id, department_id, status, channel, created_at)
  values ('knowledge', new.id, 'knowledge', new.title,
          new.title || E'\n' || array_to_string(new.tags, ' ') || E'\n' || new.body,
          new.category_id, new.department_id, new.status, null, new.created_at)
  on conflict (src, src_id) do update
     set title = excluded.title, body = excluded.body, category_id = excluded.category_id,
         department_id = excluded.department_id, status = excluded.status;
  return null;
end $$;
drop function h114_category_path(int);

create table search_hot_queries (
  qkey           text primary key,
  tsq            tsquery not null,
  like_patterns  text[] not null default '{}',
  ilike_patterns text[] not null default '{}',
  hits           int not null default 0,
  built_at       timestamptz not null default now()
);
create table search_hot_counts (
  qkey          text not null references search_hot_queries(qkey) on delete cascade,
  doc_type      text not null,
  category_id   int,
  department_id int,
  status        text,
  channel       text,
  n             int not null,
  unique nulls not distinct (qkey, doc_type, category_id, department_id, status, channel)
);
create function h114_search_hot_apply(d search_docs, delta int) returns void language plpgsql as $$
begin
  if not exists (select 1 from search_hot_queries) then return; end if;
  insert into search_hot_counts as c (qkey, doc_type, category_id, department_id, status, channel, n)
  select h.qkey, d.doc_type, d.category_id, d.department_id, d.status, d.channel, delta
    from search_hot_queries h
   where d.tsv @@ h.tsq and d.body like all (h.like_patterns) and d.body ilike all (h.ilike_patterns)
  on conflict (qkey, doc_type, category_id, department_id, status, channel) do update set n = c.n + excluded.n;
end $$;
create function h114_search_docs_hot() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.body = new.body and old.doc_type = new.doc_type
     and old.category_id is not distinct from new.category_id and old.department_id is not distinct from new.department_id
     and old.status is not distinct from new.status and old.channel is not distinct from new.channel then
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then perform h114_search_hot_apply(old, -1); end if;
  if tg_op in ('UPDATE', 'INSERT') then perform h114_search_hot_apply(new, 1); end if;
  return null;
end $$;
create trigger search_docs_hot after insert or update or delete on search_docs
  for each row execute function h114_search_docs_hot();
