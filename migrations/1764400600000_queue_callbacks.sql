-- Up Migration
-- Keep-my-place callbacks (虚拟排队) and after-hours callback requests. A 'waiting' row holds the caller's place
-- in the queue (position_at = when they first queued); it is claimed exactly once ('dialing') by a conditional
-- update, so a restart or a second process can never fire it twice.
create table queue_callbacks (
  id               bigserial primary key,
  call_id          uuid not null references calls(id),
  number           text not null,
  node_id          text not null,
  skill            text,
  kind             text not null check (kind in ('keep_place', 'after_hours')),
  position_at      timestamptz not null,
  status           text not null check (status in ('waiting', 'dialing', 'connected', 'failed', 'interrupted', 'manual', 'done')),
  attempts         int not null default 0,
  agent_id         int references agents(id),
  callback_call_id uuid, -- the outbound call record, opened right after the claim
  created_at       timestamptz not null default now(),
  claimed_at       timestamptz,
  finished_at      timestamptz
);
create index queue_callbacks_waiting_idx on queue_callbacks(node_id, position_at) where status = 'waiting';
create index queue_callbacks_number_idx on queue_callbacks(number, created_at desc);

alter table calls drop constraint calls_outcome_check;
alter table calls add constraint calls_outcome_check
  check (outcome in ('answered', 'abandoned', 'failed', 'no_agent', 'callback', 'after_hours'));
alter table calls add column callback_requested boolean not null default false;
alter table calls add column callback_id bigint references queue_callbacks(id);

-- Down Migration
alter table calls drop column callback_id;
alter table calls drop column callback_requested;
alter table calls drop constraint calls_outcome_check;
alter table calls add constraint calls_outcome_check check (outcome in ('answered', 'abandoned', 'failed', 'no_agent'));
drop table queue_callbacks;
