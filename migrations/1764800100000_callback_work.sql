-- Up Migration
-- Every promised callback is work (issue 10): an after-hours callback request (the caller pressed 1 and was told
-- they will be called back) and a kept place whose callback failed or was interrupted open (or join) the caller's
-- entry in the missed-call / callback list, next to abandoned and missed calls, with its kind and the time of the
-- oldest open promise. Closing the entry with a result settles the promises behind it.
alter table missed_calls drop constraint missed_calls_reason_check;
alter table missed_calls add constraint missed_calls_reason_check
  check (reason in ('abandoned', 'failed', 'no_agent', 'after_hours', 'callback_failed'));
alter table missed_calls add column promised_at timestamptz;
create index missed_calls_promised_idx on missed_calls(promised_at) where status = 'open' and promised_at is not null;
alter table queue_callbacks add column missed_call_id bigint references missed_calls(id) on delete set null;

create function h114_callback_to_work() returns trigger language plpgsql as $$
declare
  entry bigint;
  why text := case when new.kind = 'after_hours' then 'after_hours' else 'callback_failed' end;
begin
  insert into missed_calls (caller_number, reason, first_call_id, last_call_id, first_missed_at, last_missed_at, promised_at)
  values (new.number, why, new.call_id, new.call_id, new.created_at, now(), new.created_at)
  on conflict (caller_number) where status = 'open' do update set
    reason       = excluded.reason,
    last_call_id = excluded.last_call_id,
    last_missed_at = greatest(missed_calls.last_missed_at, excluded.last_missed_at),
    missed_count = missed_calls.missed_count + 1,
    promised_at  = least(coalesce(missed_calls.promised_at, excluded.promised_at), excluded.promised_at),
    updated_at   = now()
  returning id into entry;
  update queue_callbacks set missed_call_id = entry where id = new.id;
  return null;
end
$$;

create trigger queue_callbacks_work_insert after insert on queue_callbacks
  for each row when (new.status = 'manual') execute function h114_callback_to_work();
create trigger queue_callbacks_work_update after update of status on queue_callbacks
  for each row when (new.status in ('failed', 'interrupted') and old.status is distinct from new.status)
  execute function h114_callback_to_work();

-- Down Migration
drop trigger queue_callbacks_work_update on queue_callbacks;
drop trigger queue_callbacks_work_insert on queue_callbacks;
drop function h114_callback_to_work();
alter table queue_callbacks drop column missed_call_id;
drop index missed_calls_promised_idx;
alter table missed_calls drop column promised_at;
alter table missed_calls drop constraint missed_calls_reason_check;
alter table missed_calls add constraint missed_calls_reason_check check (reason in ('abandoned', 'failed', 'no_agent'));
