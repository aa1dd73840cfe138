-- Up Migration

-- Supervision and evaluation (issue 5): the missed-call callback list (未接来电回拨), outbound click-to-call legs,
-- and the audit of supervisors stepping into calls (监听/耳语/强插).

-- One open entry per caller number: an abandoned (or failed) inbound call opens it, further missed calls from the
-- same number add to it, an answered later call from that number marks it matched (the resident got through),
-- an agent's callback closes it (called_back, or closed when the number is useless / no callback is needed).
create table missed_calls (
  id              bigserial primary key,
  caller_number   text not null,
  reason          text not null check (reason in ('abandoned', 'failed', 'no_agent')),
  status          text not null default 'open' check (status in ('open', 'called_back', 'matched', 'closed')),
  first_call_id   uuid not null references calls(id) on delete cascade,
  last_call_id    uuid not null references calls(id) on delete cascade,
  first_missed_at timestamptz not null,
  last_missed_at  timestamptz not null,
  missed_count    int not null default 1,
  last_wait_ms    int,
  max_wait_ms     int,
  attempts        int not null default 0,
  last_attempt_at timestamptz,
  last_attempt_by int references users(id),
  result          text check (result in ('reached', 'no_answer', 'invalid_number', 'not_needed')),
  note            text,
  matched_call_id uuid references calls(id) on delete set null,
  closed_at       timestamptz,
  closed_by       int references users(id),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create unique index missed_calls_open_number_uq on missed_calls(caller_number) where status = 'open';
create index missed_calls_status_idx on missed_calls(status, last_missed_at desc, id desc);

create function h114_track_missed_call() returns trigger language plpgsql as $$
begin
  if new.direction <> 'inbound' or coalesce(new.caller_number, '') = '' then
    return null;
  end if;
  if new.outcome in ('abandoned', 'failed', 'no_agent') then
    insert into missed_calls (caller_number, reason, first_call_id, last_call_id, first_missed_at, last_missed_at,
                              last_wait_ms, max_wait_ms)
    values (new.caller_number, new.outcome, new.id, new.id, new.started_at, new.started_at, new.wait_ms, new.wait_ms)
    on conflict (caller_number) where status = 'open' do update set
      reason         = excluded.reason,
      last_call_id   = case when excluded.last_missed_at >= missed_calls.last_missed_at then excluded.last_call_id else missed_calls.last_call_id end,
      last_wait_ms   = case when excluded.last_missed_at >= missed_calls.last_missed_at then excluded.last_wait_ms else missed_calls.last_wait_ms end,
      last_missed_at = greatest(missed_calls.last_missed_at, excluded.last_missed_at),
      first_missed_at = least(missed_calls.first_missed_at, excluded.first_missed_at),
      missed_count   = missed_calls.missed_count + 1,
      max_wait_ms    = greatest(missed_calls.max_wait_ms, excluded.max_wait_ms),
      updated_at     = now();
  elsif new.outcome = 'answered' then
    update missed_calls
       set status = 'matched', matched_call_id = new.id, closed_at = coalesce(new.connected_at, new.ended_at, now()), updated_at = now()
     where caller_number = new.caller_number and status = 'open' and first_missed_at < new.started_at;
  end if;
  return null;
end
$$;

-- Only when a call gets its outcome: the hot path of other call-record writes is untouched.
create trigger calls_missed_insert after insert on calls
  for each row when (new.outcome is not null) execute function h114_track_missed_call();
create trigger calls_missed_update after update of outcome on calls
  for each row when (new.outcome is not null and old.outcome is distinct from new.outcome) execute function h114_track_missed_call();

-- Click-to-call legs placed by agents (missed-call callbacks, case callbacks 回访): the agent's phone first, then
-- the resident through the trunk, bridged (and recorded) here. Kept apart from calls (inbound 114 calls).
create table outbound_calls (
  id                  uuid primary key,
  kind                text not null check (kind in ('missed', 'case', 'other')),
  ref_id              bigint,
  node_id             text not null,
  user_id             int references users(id),
  agent_id            int references agents(id),
  agent_endpoint      text not null,
  number              text not null,
  state               text not null check (state in ('ringing_agent', 'ringing_resident', 'connected', 'ended', 'failed')),
  result              text check (result in ('connected', 'agent_no_answer', 'agent_failed', 'resident_no_answer',
                                             'resident_busy', 'resident_failed', 'cancelled')),
  agent_channel_id    text,
  resident_channel_id text,
  bridge_id           text,
  recording_name      text,
  started_at          timestamptz not null default now(),
  agent_answered_at   timestamptz,
  connected_at        timestamptz,
  ended_at            timestamptz,
  talk_ms             int
);
create index outbound_calls_ref_idx on outbound_calls(kind, ref_id, started_at desc);
create index outbound_calls_open_idx on outbound_calls(node_id) where ended_at is null;

-- Every listen / whisper / barge a supervisor started.
create table supervision_sessions (
  id                 bigserial primary key,
  call_id            uuid not null references calls(id) on delete cascade,
  supervisor_user_id int not null references users(id),
  mode               text not null check (mode in ('listen', 'whisper', 'barge')),
  endpoint           text not null,
  agent_channel      text not null,
  created_at         timestamptz not null default now()
);
create index supervision_sessions_call_idx on supervision_sessions(call_id);

-- KPIs: inbound calls by start time; offers by agent and time.
create index if not exists call_offers_offered_idx on call_offers(offered_at);

-- Down Migration
drop index if exists call_offers_offered_idx;
drop table supervision_sessions, outbound_calls;
drop trigger calls_missed_update on calls;
drop trigger calls_missed_insert on calls;
drop function h114_track_missed_call();
drop table missed_calls;
