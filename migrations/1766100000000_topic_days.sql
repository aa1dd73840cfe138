-- Up Migration

-- Hot topics from a daily aggregate (issue 13): documents per word per local day (the report time zone), filled by
-- a job for past days. A report reads whole days of its range from here and only the rest (today, partial days,
-- days not aggregated yet or changed since) from search_docs, so its output is the same as counting search_docs.
create table search_topic_days (
  tz    text not null,
  day   date not null,
  term  text not null,
  n     int not null,
  primary key (tz, day, term)
);
-- Days the job has aggregated (a day without documents has no rows above but is aggregated all the same).
create table search_topic_done (
  tz      text not null,
  day     date not null,
  done_at timestamptz not null default now(),
  primary key (tz, day)
);
-- Documents whose words changed (written by the word indexer, text edited, deleted): their day is counted from
-- search_docs until the job has aggregated it again. No unique key: a writer never waits on another for it.
create table search_topic_dirty (at timestamptz not null);
create index search_topic_dirty_at_idx on search_topic_dirty (at);

create function h114_search_topic_dirty() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    insert into search_topic_dirty (at) values (old.created_at);
  else
    insert into search_topic_dirty (at) values (new.created_at);
    if tg_op = 'UPDATE' and old.created_at is distinct from new.created_at then
      insert into search_topic_dirty (at) values (old.created_at);
    end if;
  end if;
  return null;
end $$;
-- Inserts come without words (the word indexer adds them later), so an insert normally fires nothing.
create trigger search_docs_topic_ins after insert on search_docs
  for each row when (new.words is not null and new.src <> 'knowledge') execute function h114_search_topic_dirty();
create trigger search_docs_topic_upd after update of words, created_at, src on search_docs
  for each row when ((old.words is distinct from new.words or old.created_at is distinct from new.created_at or old.src is distinct from new.src)
                     and (old.src <> 'knowledge' or new.src <> 'knowledge'))
  execute function h114_search_topic_dirty();
create trigger search_docs_topic_del after delete on search_docs
  for each row when (old.words is not null and old.src <> 'knowledge') execute function h114_search_topic_dirty();

-- Down Migration
drop trigger search_docs_topic_del on search_docs;
drop trigger search_docs_topic_upd on search_docs;
drop trigger search_docs_topic_ins on search_docs;
drop function h114_search_topic_dirty();
drop table search_topic_dirty, search_topic_done, search_topic_days;
