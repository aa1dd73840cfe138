-- Up Migration

-- One keyword search over call notes, cases, web requests and knowledge articles (DESIGN §5).
-- search_docs holds one row per searchable document, kept in sync by triggers on the source tables, so every
-- write path stays indexed. tsv = h114_search_vector(body) (generated column, GIN index): overlapping bigrams of
-- CJK runs plus lowercase ASCII words / digit runs (phone numbers, tracking-number parts), without positions.
-- Queries AND the lexemes of a term (no phrase operators: GIN answers without rechecking the heap) and confirm
-- multi-lexeme terms with a LIKE on body (exact substring).

create function h114_search_vector(t text) returns tsvector
  language sql immutable strict parallel safe cost 5000 as $$
  select array_to_tsvector(coalesce(array_agg(tok), '{}'::text[])) from (
    select substr(r.m[1], i, 2) as tok
      from regexp_matches(t, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}', 'g') as r(m),
           generate_series(1, length(r.m[1]) - 1) as i
    union all
    select lower(w.m[1]) from regexp_matches(t, '[A-Za-z0-9]+', 'g') as w(m)
  ) s
$$;

create table knowledge_articles (
  id            serial primary key,
  kind          text not null check (kind in ('guide', 'public_info')),
  title         text not null check (length(title) between 1 and 200),
  body          text not null check (length(body) between 1 and 20000),
  category_id   int references categories(id),
  department_id int references departments(id),
  tags          text[] not null default '{}',
  status        text not null default 'draft' check (status in ('draft', 'published')),
  created_by    int references users(id),
  updated_by    int references users(id),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  published_at  timestamptz
);
create index knowledge_articles_published_idx on knowledge_articles(published_at desc, id desc) where status = 'published';

create table search_docs (
  id            bigserial primary key,
  src           text not null check (src in ('note', 'case', 'knowledge')),
  src_id        bigint not null,
  doc_type      text not null check (doc_type in ('call', 'case', 'request', 'knowledge')),
  call_id       uuid,
  title         text not null default '',
  body          text not null,
  category_id   int,
  department_id int,
  status        text,
  channel       text,
  caller_number text,
  created_at    timestamptz not null,
  tsv           tsvector generated always as (h114_search_vector(body)) stored,
  unique (src, src_id)
) with (toast_tuple_target = 128);
-- Meant to keep the vector out of line (TOAST), but PostgreSQL only toasts rows over ~2 kB, so with ~130-character
-- texts it stays inline (measured: ~860 B per row). Stored rather than an expression index so that rows the planner
-- checks one by one (newest-first walks, lossy bitmap pages) do not recompute the bigrams (~100 µs per row).
alter table search_docs alter column tsv set storage external;
alter table search_docs alter column body set storage main;
create index search_docs_vector_idx on search_docs using gin (tsv);
create index search_docs_created_idx on search_docs(created_at desc, id desc);
create index search_docs_caller_idx on search_docs(caller_number, created_at desc) where caller_number is not null;

-- Exact facet counts of "hot" queries (more hits than a page of bitmap work can count within the latency budget):
-- one row per combination of the facet dimensions, maintained by the trigger on search_docs in the writer's
-- transaction. A query is built into it under a SHARE lock on search_docs, so no write is missed.
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

-- Source tables → search_docs. Cases index title, description, the department's reply (cases.reply, from the
-- cases workflow migration), tracking number and the caller's number; notes their text and the caller's number.
create function h114_search_sync_note() returns trigger language plpgsql as $$
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
create trigger call_notes_search after insert or update or delete on call_notes
  for each row execute function h114_search_sync_note();

create function h114_search_sync_case() returns trigger language plpgsql as $$
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
create trigger cases_search after insert or update or delete on cases
  for each row execute function h114_search_sync_case();

create function h114_search_sync_knowledge() returns trigger language plpgsql as $$
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
create trigger knowledge_articles_search after insert or update or delete on knowledge_articles
  for each row execute function h114_search_sync_knowledge();

-- Web and Open311 intake: what a case row has no columns for.
create table open311_clients (
  id           serial primary key,
  name         text not null,
  key_hash     bytea not null unique,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);

create table intake_requests (
  case_id           bigint primary key references cases(id) on delete cascade,
  source            text not null check (source in ('web', 'open311')),
  open311_client_id int references open311_clients(id),
  service_code      text,
  address           text,
  address_id        text,
  zipcode           text,
  lat               double precision,
  long              double precision,
  media_url         text,
  email             text,
  device_id         text,
  account_id        text,
  attributes        jsonb not null default '{}',
  -- Web requests without a phone number: 4 digits given to the resident for the status lookup.
  lookup_code       text,
  created_at        timestamptz not null default now()
);
create index intake_requests_source_idx on intake_requests(source, created_at desc);

-- Down Migration
drop table intake_requests, open311_clients;
drop trigger knowledge_articles_search on knowledge_articles;
drop trigger cases_search on cases;
drop trigger call_notes_search on call_notes;
drop function h114_search_sync_knowledge(), h114_search_sync_case(), h114_search_sync_note();
drop table search_hot_counts, search_hot_queries;
drop trigger search_docs_hot on search_docs;
drop function h114_search_docs_hot();
drop function h114_search_hot_apply(search_docs, int);
drop table search_docs;
drop table knowledge_articles;
drop function h114_search_vector(text);
